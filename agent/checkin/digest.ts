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

/** The auth-params of a `Digest …` header (challenge or credentials), names lower-cased; undefined when not Digest. */
export function digestParams(h: string | undefined): Record<string, string> | undefined {
  if (!h || !/^Digest\s/i.test(h)) return undefined;
  const out: Record<string, string> = {};
  // quoted-string values may hold escaped quotes (RFC 7230 quoted-pair)
  for (const m of h.slice(7).matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    const k = m[1].toLowerCase();
    if (!(k in out)) out[k] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  }
  return out;
}

export function parseChallenge(h: string | undefined): Challenge | undefined {
  const out = digestParams(h);
  return out?.nonce && out.realm !== undefined ? (out as unknown as Challenge) : undefined;
}

/** The hash functions of RFC 7616 §3.2 this box speaks; undefined for any other algorithm name. */
export function digestAlgorithm(alg: string | undefined): { hash: 'md5' | 'sha256'; sess: boolean } | undefined {
  const m = /^(MD5|SHA-256)(-sess)?$/i.exec(alg ?? 'MD5');
  return m ? { hash: m[1].toUpperCase() === 'MD5' ? 'md5' : 'sha256', sess: !!m[2] } : undefined;
}

export interface DigestInput {
  algorithm?: string;
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
}

/** The `response` of RFC 7616 §3.4.1 (and RFC 2069's form without qop), in lower-case hex. */
export function digestResponse(d: DigestInput): string {
  const a = digestAlgorithm(d.algorithm);
  if (!a) throw new Error(`digest algorithm ${d.algorithm} not supported`);
  const H = (s: string) => createHash(a.hash).update(s, 'utf8').digest('hex');
  let ha1 = H(`${d.username}:${d.realm}:${d.password}`);
  if (a.sess) ha1 = H(`${ha1}:${d.nonce}:${d.cnonce ?? ''}`);
  const ha2 = H(`${d.method}:${d.uri}`);
  return d.qop ? H(`${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`) : H(`${ha1}:${d.nonce}:${ha2}`);
}

export class DigestAuth {
  private nc = 0;
  constructor(
    private user: string,
    private pass: string,
    private ch: Challenge,
  ) {}

  header(method: string, uri: string): string {
    const alg = this.ch.algorithm ?? 'MD5';
    const qop = this.ch.qop
      ?.split(',')
      .map((q) => q.trim())
      .includes('auth')
      ? 'auth'
      : undefined;
    const nc = (++this.nc).toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    const response = digestResponse({ algorithm: alg, username: this.user, realm: this.ch.realm, password: this.pass, method, uri, nonce: this.ch.nonce, ...(qop ? { qop, nc, cnonce } : {}) });
    const parts = [`username="${this.user}"`, `realm="${this.ch.realm}"`, `nonce="${this.ch.nonce}"`, `uri="${uri}"`, `algorithm=${alg}`, `response="${response}"`];
    if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
    if (this.ch.opaque !== undefined) parts.push(`opaque="${this.ch.opaque}"`);
    return `Digest ${parts.join(', ')}`;
  }
}

/** Server side (simulators): verify an Authorization: Digest header. */
export function digestValid(header: string | undefined, method: string, users: Record<string, string>, realm: string, nonces: Set<string>): boolean {
  const f = digestParams(header);
  if (!f) return false;
  const pass = users[f.username];
  if (pass === undefined || f.realm !== realm || !nonces.has(f.nonce) || !digestAlgorithm(f.algorithm)) return false;
  const want = digestResponse({
    algorithm: f.algorithm,
    username: f.username,
    realm,
    password: pass,
    method,
    uri: f.uri,
    nonce: f.nonce,
    ...(f.qop ? { qop: f.qop, nc: f.nc, cnonce: f.cnonce } : {}),
  });
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
