import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import type { Logger } from 'pino';
import { sha256File } from '../core/hash.js';
import { logger } from '../core/log.js';
import type { CentralStore } from './store.js';

/** HMAC(secret, request + box): what the `clip` command carries and the upload must show. */
export function clipToken(secret: string, request: string, box: string): string {
  return createHmac('sha256', secret).update(`${request}\n${box}`).digest('hex');
}

/** What a box's clip manifest says (agent/recorder/export.ts ExportManifest, as read here). */
interface Manifest {
  kind: string;
  camera: string;
  from: number;
  to: number;
  clip: { bytes: number; sha256: string };
  sources: Array<{ start: number; end: number; sha256: string }>;
  gaps: Array<{ start: number; end: number; reason: string }>;
}

export interface ClipResult {
  request: string;
  box: string;
  camera: string;
  /** the clip file here, playable */
  file: string;
  manifest: Manifest;
  verified: boolean;
  problems: string[];
}

/**
 * The province's intake of clips asked for by playback on request (contract v1.1 `clip`). Boxes
 * upload over tus (resumable: a school line may break many times over hundreds of MB) to
 * `/uploads`, the clip and its manifest as two uploads carrying the request id. Each upload proves
 * it belongs to that request with a token the province put in the command: HMAC(secret, request
 * + box), so any instance sharing the secret accepts it and nothing is kept per request. When
 * both have arrived, the clip is checked before anyone is shown it: its SHA-256 against the
 * manifest, and every source segment's SHA-256 against the `segment` records that box sent
 * earlier through the outbox (the box's evidence, already here).
 * why @tus/server: the tus protocol is the well-kept standard for resumable uploads (offsets,
 * HEAD to resume, checksums), with a client for Node (tus-js-client) on the box.
 */
export class ClipIntake {
  private server?: http.Server;
  private tus?: Server;
  private log: Logger;
  port = 0;

  constructor(private opts: { dir: string; secret: string; store: () => CentralStore; port?: number; host?: string; maxBytes?: number; onClip?: (c: ClipResult) => void; log?: Logger }) {
    this.log = opts.log ?? logger('central');
  }

  /** The token a box must show to upload for this request. */
  token(request: string, box: string): string {
    return clipToken(this.opts.secret, request, box);
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.port}/uploads`;
  }

  async start(): Promise<void> {
    const dir = path.join(this.opts.dir, 'uploads');
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(this.opts.dir, 'clips'), { recursive: true });
    const datastore = new FileStore({ directory: dir });
    const authorised = (req: { headers: Headers }, meta: Record<string, string | null> | undefined) => {
      const auth = req.headers.get('authorization') ?? '';
      const m = /^Bearer ([0-9a-f]{64})$/.exec(auth);
      if (!m || !meta?.request || !meta.box) return false;
      const want = Buffer.from(this.token(meta.request, meta.box), 'hex');
      return timingSafeEqual(want, Buffer.from(m[1]!, 'hex'));
    };
    const refuse = (): never => {
      throw { status_code: 401, body: 'upload token missing or not for this request / 上传令牌缺失或与请求不符\n' };
    };
    this.tus = new Server({
      path: '/uploads',
      datastore,
      maxSize: this.opts.maxBytes ?? 4 * 2 ** 30,
      onUploadCreate: async (req, upload) => {
        if (!authorised(req, upload.metadata)) refuse();
        if (!['clip', 'manifest'].includes(upload.metadata?.part ?? '')) throw { status_code: 400, body: 'metadata part must be clip or manifest\n' };
        return {};
      },
      onIncomingRequest: async (req, id) => {
        // every PATCH/HEAD of an upload shows the same token as its creation did
        const u = await datastore.getUpload(id).catch(() => undefined);
        if (u && !authorised(req, u.metadata)) refuse();
      },
      onUploadFinish: async (_req, upload) => {
        await this.finished(dir, upload.id, upload.metadata ?? {}).catch((err: Error) => this.log.error({ err: err.message, upload: upload.id }, 'clip check failed'));
        return {};
      },
    });
    // this port takes the boxes' uploads only: clips are shown by the supervisor view (central/view.ts),
    // behind its login, never here to whoever knows a request id
    this.server = http.createServer((req, res) => {
      if (req.method === 'GET' && (req.url ?? '').startsWith('/clips/')) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end('clips are shown by the supervisor view, after login / 视频由监管页面在登录后提供\n');
        return;
      }
      void this.tus!.handle(req, res);
    });
    await new Promise<void>((r) => this.server!.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }

  private async finished(dir: string, id: string, meta: Record<string, string | null>): Promise<void> {
    const request = meta.request!;
    const box = meta.box!;
    const marker = path.join(this.opts.dir, 'clips', `${request}.${meta.part}`);
    fs.writeFileSync(marker, id);
    const clipMark = path.join(this.opts.dir, 'clips', `${request}.clip`);
    const manMark = path.join(this.opts.dir, 'clips', `${request}.manifest`);
    if (!fs.existsSync(clipMark) || !fs.existsSync(manMark)) return;
    const clipFile = path.join(dir, fs.readFileSync(clipMark, 'utf8'));
    const problems: string[] = [];
    let manifest: Manifest;
    try {
      manifest = JSON.parse(fs.readFileSync(path.join(dir, fs.readFileSync(manMark, 'utf8')), 'utf8')) as Manifest;
    } catch {
      manifest = { kind: '', camera: meta.camera ?? '', from: 0, to: 0, clip: { bytes: 0, sha256: '' }, sources: [], gaps: [] };
      problems.push('manifest is not JSON / 清单不是 JSON');
    }
    const h = await sha256File(clipFile);
    if (h.sha256 !== manifest.clip.sha256) problems.push(`clip SHA-256 ${h.sha256} is not the manifest's ${manifest.clip.sha256} / 视频的 SHA-256 与清单不符`);
    if (!manifest.sources.length) problems.push('manifest names no source segment / 清单没有源片段');
    const store = this.opts.store();
    for (const s of manifest.sources) {
      const seg = await store.segmentBySha(box, s.sha256);
      if (!seg) problems.push(`source ${s.sha256.slice(0, 12)}… was never reported by ${box} / 源片段从未由该盒子上报`);
      else if (seg.camera !== manifest.camera || seg.start !== s.start || seg.end !== s.end)
        problems.push(`source ${s.sha256.slice(0, 12)}… was reported for ${seg.camera} ${seg.start}-${seg.end} / 源片段上报的摄像机或时间不同`);
    }
    const result: ClipResult = { request, box, camera: manifest.camera, file: clipFile, manifest, verified: problems.length === 0, problems };
    fs.writeFileSync(path.join(this.opts.dir, 'clips', `${request}.json`), JSON.stringify(result));
    this.log[problems.length ? 'error' : 'info']({ request, box, camera: manifest.camera, verified: result.verified, problems: problems.slice(0, 5) }, 'clip received');
    this.opts.onClip?.(result);
  }
}
