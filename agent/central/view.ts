import { closeServer } from '../core/listen.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { LoginLimiter, hashPassword, verifyPassword } from '../console/auth.js';
import { sendRange } from '../console/range.js';
import { logger } from '../core/log.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import type { CentralReceiver } from './receiver.js';
import { supervisorPage } from './view-page.js';
import type { ViewDb } from './viewdb.js';

export interface SupervisorViewOptions {
  db: ViewDb;
  /** the receiver of this instance: requests from the page travel as its MQTT commands */
  receiver: CentralReceiver;
  /**
   * the media server's HLS base as a browser reaches it (`http://media.example/hls`): the live
   * stream of key K plays at `<hlsBase>/K.m3u8`
   */
  hlsBase: string;
  listen?: { host?: string; port?: number };
  /** longest live inspection a supervisor may ask for (the box caps it too) */
  maxLiveSeconds?: number;
  sessionIdleMs?: number;
  sessionMaxMs?: number;
  now?: () => number;
  log?: Logger;
}

const COOKIE = 'ca_central';
const SCRIPT = path.join(PACKAGE_ROOT, 'dist', 'web', 'central.js');
// why the light build: live inspection needs plain H.264 HLS, not subtitles or alternate audio
const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.light.min.js');
const ID = /^[A-Za-z0-9._-]{1,64}$/;

const cookieOf = (req: http.IncomingMessage): string | undefined => {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
};
const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

class BadRequest extends Error {}

/**
 * The supervisor's web view at the central service (60号: 远程实时巡检、视频回放): boxes with
 * their online state and backlog, classes and their verdicts, check-ins, and the live inspection
 * and playback requests, asked for from the page. It reads PostgreSQL only (ViewDb), so every
 * instance of the central service can serve it; requests go out as this instance's MQTT
 * commands and the boxes' replies land in the database whichever instance receives them.
 * Passwords are the console's scrypt hashes; sessions are in the database (see ViewDb).
 * node:http as in the box's console: a dozen routes need no framework.
 */
export class SupervisorView {
  private server?: http.Server;
  private sockets = new Set<net.Socket>();
  private limiter = new LoginLimiter(10, 15 * 60_000);
  private dummyHash?: string;
  private log: Logger;
  private now: () => number;
  private mediaOrigin: string;
  port = 0;

  constructor(private o: SupervisorViewOptions) {
    this.log = o.log ?? logger('central-view');
    this.now = o.now ?? Date.now;
    this.mediaOrigin = new URL(o.hlsBase).origin;
  }

  async start(): Promise<void> {
    await this.o.db.init();
    // compared against for unknown names, so the answer time does not tell which names exist
    this.dummyHash = await hashPassword(crypto.randomBytes(12).toString('hex'));
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (err instanceof BadRequest) return this.json(res, 400, { error: err.message });
        this.log.error({ err: (err as Error).message, url: req.url?.slice(0, 200) }, 'view request failed');
        if (!res.headersSent) this.json(res, 500, { error: 'internal error / 内部错误' });
        else res.destroy();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.listen?.port ?? 0, this.o.listen?.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    this.log.info({ port: this.port }, 'supervisor view listening');
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await closeServer(s, this.sockets);
    this.server = undefined;
  }

  private headers(res: http.ServerResponse): void {
    // hls.js fetches the playlist and segments from the media server (connect-src) and feeds
    // them to the video element through Media Source Extensions (media-src blob:)
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'self'; script-src 'self'; connect-src 'self' ${this.mediaOrigin}; media-src 'self' blob:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    this.headers(res);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private file(res: http.ServerResponse, file: string, type: string): void {
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      return this.json(res, 500, { error: `${path.basename(file)} missing: run npm run build / 缺少页面脚本，请先 npm run build` });
    }
    this.headers(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.writeHead(200, { 'Content-Type': type });
    res.end(body);
  }

  /** A JSON body (POST only, with its content type: a form from another site cannot send one, and the cookie is SameSite=Strict). */
  private async body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new BadRequest('send JSON (Content-Type: application/json) / 请以 JSON 提交');
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 4096) throw new BadRequest('request too large / 请求过大');
      chunks.push(c as Buffer);
    }
    try {
      const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // answered below
    }
    throw new BadRequest('the body is not a JSON object / 请求体不是 JSON 对象');
  }

  private async supervisor(req: http.IncomingMessage): Promise<string | undefined> {
    const c = cookieOf(req);
    if (!c) return undefined;
    return this.o.db.session(sha(c), this.now(), this.o.sessionIdleMs ?? 30 * 60_000, this.o.sessionMaxMs ?? 12 * 3_600_000);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const p = new URL(req.url ?? '/', 'http://view').pathname;
    if (req.method === 'GET' && (p === '/' || p === '/index.html')) {
      this.headers(res);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(supervisorPage());
      return;
    }
    if (req.method === 'GET' && p === '/central.js') return this.file(res, SCRIPT, 'text/javascript; charset=utf-8');
    if (req.method === 'GET' && p === '/hls.js') return this.file(res, HLS_JS, 'text/javascript; charset=utf-8');
    if (req.method === 'POST' && p === '/api/login') return this.login(req, res);
    if (req.method === 'POST' && p === '/api/logout') {
      const c = cookieOf(req);
      if (c) await this.o.db.endSession(sha(c));
      this.headers(res);
      res.setHeader('Set-Cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return this.json(res, 200, { ok: true });
    }
    const who = await this.supervisor(req);
    const clip = /^\/clips\/([A-Za-z0-9-]{1,64})\.mp4$/.exec(p);
    if (!p.startsWith('/api/') && !clip) return this.json(res, 404, { error: 'not found / 未找到' });
    if (!who) return this.json(res, 401, { error: 'login required / 请先登录' });
    if (req.method === 'GET' && clip) return this.clip(req, res, clip[1]!);
    if (req.method === 'GET' && p === '/api/overview') return this.json(res, 200, await this.overview(who));
    if (req.method === 'POST' && p === '/api/live') return this.live(req, res, who);
    if (req.method === 'POST' && p === '/api/clip') return this.playback(req, res, who);
    const stop = /^\/api\/live\/([A-Za-z0-9-]{1,64})\/stop$/.exec(p);
    if (req.method === 'POST' && stop) {
      const r = (await this.o.db.requests(200)).find((x) => x.id === stop[1] && x.kind === 'live');
      if (!r) return this.json(res, 404, { error: 'no such live inspection / 没有该巡检' });
      this.o.receiver.stopLive(r.box, r.id);
      this.log.info({ supervisor: who, inspection: r.id }, 'live inspection stop asked');
      return this.json(res, 200, { ok: true });
    }
    return this.json(res, 404, { error: 'not found / 未找到' });
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await this.body(req);
    const name = typeof body.user === 'string' ? body.user.slice(0, 100) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1000) : '';
    const keys = [`ip:${req.socket.remoteAddress ?? ''}`, `user:${name}`];
    const wait = Math.max(...keys.map((k) => this.limiter.retryAfter(k)));
    if (wait > 0) {
      this.headers(res);
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      return this.json(res, 429, { error: `too many failed logins; try again in ${Math.ceil(wait / 60_000)} min / 登录失败次数过多，请 ${Math.ceil(wait / 60_000)} 分钟后再试` });
    }
    const u = name ? await this.o.db.supervisor(name) : undefined;
    const ok = await verifyPassword(password, u?.hash ?? this.dummyHash!);
    if (!u || !ok) {
      for (const k of keys) this.limiter.fail(k);
      this.log.warn({ user: name, remote: req.socket.remoteAddress }, 'supervisor login failed');
      return this.json(res, 401, { error: 'wrong user name or password / 用户名或密码错误' });
    }
    for (const k of keys) this.limiter.succeed(k);
    const id = crypto.randomBytes(32).toString('base64url');
    await this.o.db.createSession(sha(id), u.name, u.updated_ms, this.now());
    this.log.info({ user: u.name }, 'supervisor logged in');
    this.headers(res);
    res.setHeader('Set-Cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict`);
    return this.json(res, 200, { user: u.name });
  }

  private async overview(who: string): Promise<unknown> {
    const db = this.o.db;
    const [boxes, verdicts, checkins, requests, cameras] = await Promise.all([
      db.boxes(),
      db.latest(['class-verdict'], 200),
      db.latest(['checkin'], 100),
      db.requests(50),
      db.cameras(this.now() - 7 * 86_400_000),
    ]);
    // the newest verdict of each class of each box
    const seen = new Set<string>();
    const classes = verdicts.filter((v) => {
      const k = `${v.box}\n${(v.data as { classId?: string }).classId}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    return { me: who, now: this.now(), boxes, classes, checkins, requests, cameras, hlsBase: this.o.hlsBase };
  }

  private field(body: Record<string, unknown>, name: string): string {
    const v = body[name];
    if (typeof v !== 'string' || !ID.test(v)) throw new BadRequest(`${name}: letters, digits, . _ - only (1-64) / ${name} 只能含字母、数字和 . _ -`);
    return v;
  }

  private async live(req: http.IncomingMessage, res: http.ServerResponse, who: string): Promise<void> {
    const body = await this.body(req);
    const box = this.field(body, 'box');
    const camera = this.field(body, 'camera');
    const max = this.o.maxLiveSeconds ?? 600;
    const seconds = typeof body.seconds === 'number' && body.seconds > 0 ? Math.min(Math.round(body.seconds), max) : max;
    // the stream key names the stream at the media server: unguessable, one per inspection
    const key = crypto.randomBytes(16).toString('hex');
    const id = this.o.receiver.requestLive(box, camera, key, seconds);
    const playUrl = `${this.o.hlsBase.replace(/\/+$/, '')}/${key}.m3u8`;
    await this.o.db.addRequest({ id, kind: 'live', box, camera, from: null, to: null, playUrl, supervisor: who, created: this.now() });
    this.log.info({ supervisor: who, box, camera, inspection: id, seconds }, 'live inspection asked from the view');
    return this.json(res, 200, { id, playUrl });
  }

  private async playback(req: http.IncomingMessage, res: http.ServerResponse, who: string): Promise<void> {
    const body = await this.body(req);
    const box = this.field(body, 'box');
    const camera = this.field(body, 'camera');
    const from = body.from;
    const to = body.to;
    if (typeof from !== 'number' || typeof to !== 'number' || !Number.isInteger(from) || !Number.isInteger(to) || !(to > from)) {
      throw new BadRequest('from, to: integer UTC ms with to after from / from、to 须为整数毫秒且结束晚于开始');
    }
    const id = this.o.receiver.requestClip(box, camera, from, to);
    await this.o.db.addRequest({ id, kind: 'clip', box, camera, from, to, playUrl: `/clips/${id}.mp4`, supervisor: who, created: this.now() });
    this.log.info({ supervisor: who, box, camera, request: id, from, to }, 'playback asked from the view');
    return this.json(res, 200, { id, playUrl: `/clips/${id}.mp4` });
  }

  /** A verified clip only (ClipIntake checked it against the box's segment records), with byte ranges. */
  private async clip(req: http.IncomingMessage, res: http.ServerResponse, id: string): Promise<void> {
    const file = await this.o.db.verifiedClip(id);
    let size = -1;
    try {
      if (file) size = fs.statSync(file).size;
    } catch {
      size = -1;
    }
    if (size < 0) return this.json(res, 404, { error: 'no verified clip for this request / 该请求没有通过校验的视频' });
    this.headers(res);
    res.setHeader('Content-Type', 'video/mp4');
    sendRange(req, res, file!, size);
  }
}
