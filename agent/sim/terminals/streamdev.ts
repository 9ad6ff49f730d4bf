import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { digestValid } from '../../checkin/digest.js';

export interface StreamDeviceOptions {
  username?: string;
  password?: string;
  /** write every part in pieces of 1..splitMax bytes (0 = whole) */
  splitMax?: number;
  /** keep-alive interval; 0 = none */
  heartbeatMs?: number;
}

/**
 * Common ground of the simulated Hikvision and Dahua devices: a real HTTP server with Digest
 * auth, long-lived multipart responses, and the failure modes of real devices: offline (sockets
 * reset and refused), stale (connection kept, nothing sent), split parts and garbage.
 */
export abstract class StreamDevice {
  protected server = http.createServer((req, res) => this.onRequest(req, res));
  protected streams = new Set<http.ServerResponse>();
  private sockets = new Set<Socket>();
  private nonces = new Set<string>();
  private hbTimer?: NodeJS.Timeout;
  readonly realm: string;
  online = true;
  stale = false;
  /** requests seen per path (tests check the client's behaviour) */
  hits = new Map<string, number>();

  constructor(
    protected opts: StreamDeviceOptions,
    realm: string,
    private boundary: string,
  ) {
    this.realm = realm;
    this.server.on('connection', (s) => {
      if (!this.online) return void s.destroy();
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    if (this.opts.heartbeatMs) this.hbTimer = setInterval(() => this.heartbeat(), this.opts.heartbeatMs);
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.hbTimer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Network gone: every connection reset, new ones refused. */
  goOffline(): void {
    this.online = false;
    for (const s of this.sockets) s.destroy();
    this.streams.clear();
  }

  comeBack(): void {
    this.online = true;
    this.stale = false;
  }

  protected authorized(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (this.opts.username === undefined) return true;
    if (digestValid(req.headers.authorization, req.method ?? 'GET', { [this.opts.username]: this.opts.password ?? '' }, this.realm, this.nonces)) return true;
    const nonce = randomBytes(12).toString('hex');
    this.nonces.add(nonce);
    res.writeHead(401, { 'www-authenticate': `Digest realm="${this.realm}", qop="auth", nonce="${nonce}", opaque="${randomBytes(4).toString('hex')}", algorithm=MD5` });
    res.end();
    return false;
  }

  protected openStream(res: http.ServerResponse, contentType: string): void {
    res.writeHead(200, { 'content-type': `${contentType}; boundary=${this.boundary}`, connection: 'close' });
    res.flushHeaders();
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }

  /** Write bytes to every open stream, split into random pieces when splitMax is set. */
  protected broadcast(data: Buffer): void {
    if (!this.online || this.stale) return;
    for (const s of this.streams) {
      const max = this.opts.splitMax ?? 0;
      if (!max) {
        s.write(data);
        continue;
      }
      for (let i = 0; i < data.length; ) {
        const n = 1 + Math.floor(Math.random() * max);
        s.write(data.subarray(i, i + n));
        i += n;
      }
    }
  }

  part(contentType: string, body: string | Buffer, withLength = true): Buffer {
    const b = Buffer.from(body);
    return Buffer.concat([Buffer.from(`--${this.boundary}\r\nContent-Type: ${contentType}\r\n${withLength ? `Content-Length: ${b.length}\r\n` : ''}\r\n`), b, Buffer.from('\r\n')]);
  }

  /** Raw bytes on every stream (garbage, merged parts). */
  sendRaw(data: string | Buffer): void {
    this.broadcast(Buffer.from(data));
  }

  streamCount(): number {
    return this.streams.size;
  }

  protected count(path: string): void {
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
  }

  protected abstract heartbeat(): void;
  protected abstract onRequest(req: http.IncomingMessage, res: http.ServerResponse): void;
}

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
  });
}
