import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

/**
 * HTTP Digest auth (RFC 7616, MD5 and SHA-256, qop=auth), as Hikvision and Dahua devices demand
 * (Basic is often disabled on them). Client side for our stream and search requests; server side
 * check for the simulators.
 */
export interface Challenge {
  realm: string;
  nonce: string;
  qop?: string;
  opaque?: string;
  algorithm?: string;
}

export function parseChallenge(h: string | undefined): Challenge | undefined {
  if (!h || !/^Digest /i.test(h)) return undefined;
  const out: Record<string, string> = {};
  for (const m of h.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) out[m[1].toLowerCase()] = m[2] ?? m[3];
  return out.nonce && out.realm !== undefined ? (out as unknown as Challenge) : undefined;
}

const hash = (alg: string, s: string) =>
  createHash(/sha-?256/i.test(alg) ? 'sha256' : 'md5')
    .update(s)
    .digest('hex');

export class DigestAuth {
  private nc = 0;
  constructor(
    private user: string,
    private pass: string,
    private ch: Challenge,
  ) {}

  header(method: string, uri: string): string {
    const alg = this.ch.algorithm ?? 'MD5';
    const ha1 = hash(alg, `${this.user}:${this.ch.realm}:${this.pass}`);
    const ha2 = hash(alg, `${method}:${uri}`);
    const qop = this.ch.qop
      ?.split(',')
      .map((q) => q.trim())
      .includes('auth')
      ? 'auth'
      : undefined;
    const nc = (++this.nc).toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    const response = qop ? hash(alg, `${ha1}:${this.ch.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : hash(alg, `${ha1}:${this.ch.nonce}:${ha2}`);
    const parts = [`username="${this.user}"`, `realm="${this.ch.realm}"`, `nonce="${this.ch.nonce}"`, `uri="${uri}"`, `algorithm=${alg}`, `response="${response}"`];
    if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
    if (this.ch.opaque !== undefined) parts.push(`opaque="${this.ch.opaque}"`);
    return `Digest ${parts.join(', ')}`;
  }
}

/** Server side (simulators): verify an Authorization: Digest header. */
export function digestValid(header: string | undefined, method: string, users: Record<string, string>, realm: string, nonces: Set<string>): boolean {
  if (!header || !/^Digest /i.test(header)) return false;
  const f: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) f[m[1].toLowerCase()] = m[2] ?? m[3];
  const pass = users[f.username];
  if (pass === undefined || f.realm !== realm || !nonces.has(f.nonce)) return false;
  const alg = f.algorithm ?? 'MD5';
  const ha1 = hash(alg, `${f.username}:${realm}:${pass}`);
  const ha2 = hash(alg, `${method}:${f.uri}`);
  const want = f.qop ? hash(alg, `${ha1}:${f.nonce}:${f.nc}:${f.cnonce}:${f.qop}:${ha2}`) : hash(alg, `${ha1}:${f.nonce}:${ha2}`);
  return want === f.response;
}

export interface DigestRequestOpts {
  method?: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

/**
 * Open a request, answering one Digest (or Basic) challenge. Resolves with the response, body
 * unread (streams stay open for the caller). `onReq` exposes the live request so it can be aborted.
 */
export function digestRequest(url: string, o: DigestRequestOpts, onReq?: (r: http.ClientRequest) => void): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const uri = `${u.pathname}${u.search}`;
  const once = (auth?: string) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const body = o.body === undefined ? undefined : Buffer.from(o.body);
      const req = http.request(u, {
        method: o.method ?? 'GET',
        headers: { ...o.headers, ...(auth ? { authorization: auth } : {}), ...(body ? { 'content-length': String(body.length) } : {}) },
      });
      onReq?.(req);
      req.setTimeout(o.timeoutMs ?? 10_000, () => req.destroy(new Error('connect/response timeout')));
      req.on('response', (res) => {
        req.setTimeout(0);
        resolve(res);
      });
      req.on('error', reject);
      req.end(body);
    });
  return once().then((res) => {
    if (res.statusCode !== 401 || o.username === undefined) return res;
    res.resume();
    const ch = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
    const auth = ch ? new DigestAuth(o.username, o.password ?? '', ch).header(o.method ?? 'GET', uri) : `Basic ${Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64')}`;
    return once(auth);
  });
}

export function readAll(res: http.IncomingMessage, limit = 4 * 1_048_576): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    res.on('data', (d: Buffer) => {
      n += d.length;
      if (n > limit) return res.destroy(new Error('response too large'));
      parts.push(d);
    });
    res.on('end', () => resolve(Buffer.concat(parts)));
    res.on('error', reject);
  });
}
