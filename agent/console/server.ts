import { closeServer } from '../core/listen.js';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AgentContext } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { logger } from '../core/log.js';
import type { Module } from '../core/module.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { ConsoleRepo, type ConsoleRole } from '../store/console.js';
import { LoginLimiter, Sessions, verifyPassword, type Session } from './auth.js';
import { LiveHub, type LiveMessage } from './live.js';
import type { SubSource } from './substream.js';
import { streamUrlOf, subStreamUrl } from '../cameras/stream.js';
import { consolePage } from './page.js';
import { ConsoleApi, type Action } from './api.js';
import { sendRange } from './range.js';

/** What each role may do. Nobody may change or delete evidence: the console has no such route. */
export const CAN: Record<Action, readonly ConsoleRole[]> = {
  view: ['technician', 'school', 'inspector'],
  export: ['technician', 'school', 'inspector'],
  box: ['technician', 'inspector'],
  /** the access log: who looked at what; the inspector's audit */
  audit: ['inspector'],
  /**
   * matched face crops, and only when the school sets console.showFaceImages: the inspector
   * checks that the person seen is the trainee (60号's on-site supervision), the school answers
   * for its trainees; the technician keeps the box running and needs no faces (PIPL minimum).
   */
  faces: ['school', 'inspector'],
};

/** What this session may do now: its role's actions, faces only while the school enables them. */
export function allowed(role: ConsoleRole, showFaceImages: boolean): Action[] {
  return (Object.entries(CAN) as Array<[Action, readonly ConsoleRole[]]>).filter(([a, r]) => r.includes(role) && (a !== 'faces' || showFaceImages)).map(([a]) => a);
}

const COOKIE = 'ca_console';
const WEB_DIR = path.join(PACKAGE_ROOT, 'dist', 'web');
/** a live viewer that falls this far behind (slow phone link) skips to the next keyframe */
const MAX_VIEWER_BACKLOG = 4 * 1024 * 1024;

const cookieOf = (req: http.IncomingMessage): string | undefined => {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
};

const remoteOf = (req: http.IncomingMessage) => req.socket.remoteAddress ?? '';

/**
 * The classroom console: the daemon's own web server on the school network. Off until a first
 * user exists (it checks every few seconds, so `users add` beside a running daemon turns it on).
 * node:http rather than a framework: a dozen read-only routes, one login form and a WebSocket
 * (ws, already in the tree through mqtt) need no router, and the security headers, limits and
 * access entries then sit in one visible place.
 */
export class ConsoleServer implements Module {
  readonly name = 'console';
  private server?: http.Server | https.Server;
  private wss?: WebSocketServer;
  private sockets = new Set<net.Socket>();
  private repo: ConsoleRepo;
  private sessions: Sessions;
  private limiter: LoginLimiter;
  private hub: LiveHub;
  private api: ConsoleApi;
  private waitTimer?: NodeJS.Timeout;
  /** open today-page streams (Server-Sent Events): lesson.live and alarms, as they happen */
  private streams = new Map<http.ServerResponse, string /** its session */>();
  private streamPing?: NodeJS.Timeout;
  private log: Logger = logger('console');
  port = 0;

  constructor(private ctx: AgentContext) {
    const c = ctx.cfg.console;
    this.repo = new ConsoleRepo(ctx.store);
    this.sessions = new Sessions(c.sessionIdleMinutes * 60_000, c.sessionMaxHours * 3_600_000);
    this.limiter = new LoginLimiter(c.loginMaxFailures, c.loginWindowMinutes * 60_000);
    this.hub = new LiveHub(ctx.paths.video, this.log);
    this.api = new ConsoleApi(ctx);
  }

  get listening(): boolean {
    return !!this.server?.listening;
  }

  async start(): Promise<void> {
    // the monitor reports each lesson's state change once; every open today page gets it at once
    this.ctx.bus.on(this, 'lesson.live', (e) => this.push('lesson.live', e));
    this.ctx.bus.on(this, 'alarm.raised', (e) => this.push('alarm.raised', e));
    this.ctx.bus.on(this, 'alarm.cleared', (e) => this.push('alarm.cleared', e));
    if (this.repo.count() > 0) return this.listen();
    this.log.info('console off: no user yet (classroom-agent users add NAME --role technician)');
    this.waitTimer = setInterval(() => {
      if (this.repo.count() === 0) return;
      clearInterval(this.waitTimer);
      this.waitTimer = undefined;
      this.listen().catch((err) => this.log.error({ err: (err as Error).message }, 'console could not listen'));
    }, 5000);
    this.waitTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.waitTimer) clearInterval(this.waitTimer);
    this.ctx.bus.removeListeners(this);
    if (this.streamPing) clearInterval(this.streamPing);
    for (const r of this.streams.keys()) r.end();
    this.streams.clear();
    this.hub.close();
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    const s = this.server;
    if (!s) return;
    await closeServer(s, this.sockets);
    this.server = undefined;
  }

  private async listen(): Promise<void> {
    const c = this.ctx.cfg.console;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((err) => {
        this.log.error({ err: (err as Error).message, url: req.url }, 'console request failed');
        if (!res.headersSent) this.json(res, 500, { error: 'internal error / 内部错误' });
        else res.destroy();
      });
    };
    let server: http.Server | https.Server;
    if (c.tls) {
      let cert: Buffer, key: Buffer;
      try {
        cert = fs.readFileSync(c.tls.cert);
        key = fs.readFileSync(c.tls.key);
      } catch (err) {
        throw new InputError('config', [
          {
            path: 'console.tls',
            message: `cannot read the certificate or key (${(err as NodeJS.ErrnoException).code}): check the paths and that the agent's user may read them / 无法读取证书或私钥，请检查路径与权限`,
          },
        ]);
      }
      server = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, handler);
    } else server = http.createServer(handler);
    // slow-loris and idle limits: a console page needs neither long headers nor slow bodies
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.maxHeadersCount = 50;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(c.listen.port, c.listen.host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    this.log.info({ host: c.listen.host, port: this.port, https: !!c.tls }, 'console listening');
  }

  private headers(res: http.ServerResponse): void {
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    if (this.ctx.cfg.console.tls) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    this.headers(res);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private access(s: Session | undefined, req: http.IncomingMessage, action: string, subject: string, outcome: 'ok' | 'denied' | 'failed', user?: string): void {
    try {
      this.repo.recordAccess({ at: this.ctx.now(), user: s?.user ?? user ?? '', role: s?.role ?? '', action, subject, remote: remoteOf(req), outcome });
    } catch (err) {
      this.log.error({ err: (err as Error).message, action }, 'cannot record a console access entry');
    }
  }

  private session(req: http.IncomingMessage): Session | undefined {
    const s = this.sessions.get(cookieOf(req));
    // a user removed, given another role or a new password since login loses the session at once
    if (s) {
      const u = this.repo.user(s.user);
      if (!u || u.role !== s.role || u.updated_ms !== s.stamp) {
        this.sessions.end(s.id);
        return undefined;
      }
    }
    return s;
  }

  private async readBody(req: http.IncomingMessage, max = 4096): Promise<string> {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > max) throw new InputError('request', [{ path: 'body', message: 'too large / 请求过大' }]);
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    const p = url.pathname;
    if (req.method === 'GET' && (p === '/' || p === '/index.html')) {
      this.headers(res);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(consolePage());
      return;
    }
    if (req.method === 'GET' && p === '/console.js') {
      this.headers(res);
      res.setHeader('Cache-Control', 'no-cache');
      try {
        const js = fs.readFileSync(path.join(WEB_DIR, 'console.js'));
        res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
        res.end(js);
      } catch {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('console.js missing: run npm run build / 缺少页面脚本，请先 npm run build');
      }
      return;
    }
    if (p === '/api/login' && req.method === 'POST') return this.login(req, res);
    if (p === '/api/logout' && req.method === 'POST') {
      const s = this.session(req);
      if (s) this.access(s, req, 'logout', s.user, 'ok');
      this.sessions.end(cookieOf(req));
      this.headers(res);
      res.setHeader('Set-Cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.ctx.cfg.console.tls ? '; Secure' : ''}`);
      return this.json(res, 200, { ok: true });
    }
    if (!p.startsWith('/api/')) return this.json(res, 404, { error: 'not found / 未找到' });
    const s = this.session(req);
    if (!s) return this.json(res, 401, { error: 'login required / 请先登录' });
    if (req.method !== 'GET') return this.json(res, 405, { error: 'the console only reads: evidence cannot be changed here / 控制台只读，不能修改证据' });
    if (p === '/api/events') return this.events(s, req, res);
    if (p === '/api/me')
      return this.json(res, 200, {
        user: s.user,
        role: s.role,
        now: this.ctx.now(),
        can: allowed(s.role as ConsoleRole, this.ctx.cfg.console.showFaceImages),
      });
    const route = this.api.route(p, url.searchParams);
    if (!route) return this.json(res, 404, { error: 'not found / 未找到' });
    if (!allowed(s.role as ConsoleRole, this.ctx.cfg.console.showFaceImages).includes(route.need)) {
      this.access(s, req, route.action, route.subject, 'denied');
      if (route.need === 'faces' && !this.ctx.cfg.console.showFaceImages)
        return this.json(res, 403, {
          error: 'face images are off at this school (the school may set console.showFaceImages in the box config) / 本校未启用人脸图像（学校可在本机配置中设置 console.showFaceImages）',
        });
      return this.json(res, 403, { error: 'not allowed for your role / 您的角色无权访问' });
    }
    try {
      const out = await route.run();
      this.access(s, req, route.action, route.subject, 'ok');
      if (out.kind === 'json') return this.json(res, 200, out.body);
      if (out.kind === 'inline') {
        // no-store (headers()), and no download name: the picture is shown, not kept
        this.headers(res);
        res.writeHead(200, { 'Content-Type': out.type, 'Content-Length': out.body.length });
        res.end(out.body);
        return;
      }
      if (out.kind === 'download') {
        this.headers(res);
        res.writeHead(200, { 'Content-Type': out.type, 'Content-Disposition': `attachment; filename="${out.filename}"` });
        res.end(out.body);
        return;
      }
      if (out.filename) res.setHeader('Content-Disposition', `attachment; filename="${out.filename}"`);
      return this.sendFile(req, res, out.file, out.type);
    } catch (err) {
      if (err instanceof InputError) {
        this.access(s, req, route.action, route.subject, 'failed');
        return this.json(res, err.source === 'not-found' ? 404 : 400, { error: err.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ') });
      }
      throw err;
    }
  }

  /**
   * GET /api/events: Server-Sent Events (text/event-stream) for the today page. SSE rather than
   * the live view's WebSocket: one-way, text, reconnects by itself (EventSource), and passes
   * the same cookie check as every other GET. Payloads are ids, states and reasons only.
   */
  private events(s: Session, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!allowed(s.role as ConsoleRole, this.ctx.cfg.console.showFaceImages).includes('view')) return this.json(res, 403, { error: 'not allowed for your role / 您的角色无权访问' });
    this.access(s, req, 'view:events', 'today', 'ok');
    this.headers(res);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 3000\n: open\n\n');
    this.streams.set(res, s.id);
    req.socket.setTimeout(0);
    // a comment every 20 s keeps proxies and phones from closing an idle stream; a stream whose
    // session ended (logout, expiry, user removed) is closed then
    this.streamPing ??= setInterval(() => {
      for (const [r, id] of this.streams) {
        if (this.sessions.alive(id)) r.write(': ping\n\n');
        else {
          r.end();
          this.streams.delete(r);
        }
      }
    }, 20_000);
    this.streamPing.unref();
    res.on('close', () => this.streams.delete(res));
  }

  private push(event: string, payload: unknown): void {
    const msg = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const [r, id] of this.streams) if (this.sessions.alive(id)) r.write(msg);
  }

  /** A segment file, with byte ranges (RFC 9110 §14) so a player may fetch parts of it. */
  private sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, type: string): void {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return this.json(res, 404, { error: 'the file is gone (retention or disk) / 文件已不存在（已过留存期或磁盘问题）' });
    }
    this.headers(res);
    res.setHeader('Content-Type', type);
    sendRange(req, res, file, size);
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body: { user?: unknown; password?: unknown };
    try {
      body = JSON.parse(await this.readBody(req));
    } catch {
      return this.json(res, 400, { error: 'send JSON {"user","password"} / 请以 JSON 提交用户名和密码' });
    }
    const user = typeof body.user === 'string' ? body.user.slice(0, 100) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1000) : '';
    const keys = [`ip:${remoteOf(req)}`, `user:${user}`];
    const wait = Math.max(...keys.map((k) => this.limiter.retryAfter(k)));
    if (wait > 0) {
      this.access(undefined, req, 'login', user, 'denied', user);
      this.headers(res);
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      return this.json(res, 429, { error: `too many failed logins; try again in ${Math.ceil(wait / 60_000)} min / 登录失败次数过多，请 ${Math.ceil(wait / 60_000)} 分钟后再试` });
    }
    const u = user ? this.repo.user(user) : undefined;
    // verify against a dummy hash for unknown names so the answer time does not reveal which names exist
    const ok = await verifyPassword(password, u?.password_hash ?? DUMMY_HASH);
    if (!u || !ok) {
      for (const k of keys) this.limiter.fail(k);
      this.access(undefined, req, 'login', user, 'failed', user);
      return this.json(res, 401, { error: 'wrong user name or password / 用户名或密码错误' });
    }
    for (const k of keys) this.limiter.succeed(k);
    const s = this.sessions.create(u.name, u.role, u.updated_ms);
    this.access(s, req, 'login', u.name, 'ok');
    this.headers(res);
    res.setHeader('Set-Cookie', `${COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict${this.ctx.cfg.console.tls ? '; Secure' : ''}`);
    return this.json(res, 200, { user: u.name, role: u.role });
  }

  /** WebSocket /api/live/<camera>: the camera's live fragments (binary), each after a JSON header. */
  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const refuse = (code: number, why: string) => {
      socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? '/', 'http://console');
    const m = /^\/api\/live\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
    if (!m) return refuse(404, 'Not Found');
    // cross-site WebSocket hijacking: the browser sends the page's origin; it must be this host
    const origin = req.headers.origin;
    if (origin && new URL(origin).host !== req.headers.host) return refuse(403, 'Forbidden');
    const s = this.session(req);
    if (!s) return refuse(401, 'Unauthorized');
    const camera = m[1];
    if (!this.ctx.cfg.cameras.some((c) => c.id === camera) && !fs.existsSync(path.join(this.ctx.paths.video, camera))) return refuse(404, 'Not Found');
    this.wss!.handleUpgrade(req, socket, head, (ws) => this.watch(ws, s, req, camera));
  }

  private watch(ws: WebSocket, s: Session, req: http.IncomingMessage, camera: string): void {
    this.access(s, req, 'live', camera, 'ok');
    // a viewer starts at a keyframe (the feed hands out its last one first)
    let skipping = true;
    const send = (m: LiveMessage) => {
      if (ws.readyState !== ws.OPEN) return;
      if (m.kind === 'fragment') {
        // a viewer on a slow link must not grow the box's memory: drop to the next keyframe
        if (ws.bufferedAmount > MAX_VIEWER_BACKLOG) skipping = true;
        if (skipping && !m.key) return;
        skipping = false;
        ws.send(JSON.stringify({ kind: 'fragment', key: m.key, seconds: m.seconds, readAt: m.readAt }));
      } else ws.send(JSON.stringify({ kind: 'init', codec: m.codec, width: m.width, height: m.height, source: m.source }));
      ws.send(m.data);
    };
    const cam = this.ctx.cfg.cameras.find((c) => c.id === camera);
    // the one URL composer's sub stream: subRtspUrl, the vendor's convention on rtspUrl, or ONVIF's second profile
    const hasSub = cam && (cam.subRtspUrl || (cam.rtspUrl && subStreamUrl(cam.rtspUrl)) || cam.onvif);
    const sub: SubSource | undefined = hasSub ? { url: () => streamUrlOf(cam, `cameras.${camera}`, 'sub'), transport: cam.transport, ffmpegPath: this.ctx.cfg.recorder.ffmpegPath } : undefined;
    const leave = this.hub.watch(camera, send, sub);
    const ping = setInterval(() => ws.ping(), 20_000);
    ws.on('close', () => {
      clearInterval(ping);
      leave();
    });
    ws.on('error', () => ws.terminate());
  }
}

// a valid hash of a random password: verifying against it costs what a real check costs
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w=';
