import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { digestAlgorithm, digestParams, digestResponse } from './digest.js';

/**
 * HTTP Digest (RFC 7616) on the box's side of a push: a Hikvision httpHosts entry with
 * `httpAuthenticationMethod=MD5digest` authenticates its POSTs to /hikvision/<id> this way. The
 * password is the terminal's token (the same secret as Basic/Bearer); the user name is not a
 * secret and is not checked (as with Basic): the response proves the password.
 *
 * Checked from the request line and the Authorization header alone, before any body byte is
 * read (qop=auth only: auth-int would need the body first). The response computation is the one
 * of digest.ts, shared with the box's own Digest client.
 *
 * Nonces are stateless: base64url(time ‖ random ‖ HMAC(key, time ‖ random)), valid NONCE_TTL_MS;
 * a nonce of another key (the agent restarted) or past its time, with an otherwise correct
 * response, is answered `stale=true` (RFC 7616 §3.3: the client retries with the new nonce
 * without asking anyone for the password again). Replays: each (nonce, nc) is accepted once;
 * remembered for the nonce's life, bounded.
 */
export type DigestVerdict = 'ok' | 'stale' | 'bad';

const NONCE_TTL_MS = 300_000;
/** nonces whose used nc values are remembered; beyond, the oldest are forgotten (its requests then answered stale) */
const MAX_NONCES = 1024;
const MAX_NC_PER_NONCE = 4096;

export class DigestServer {
  private used = new Map<string, { at: number; nc: Set<string> }>();

  constructor(
    readonly realm = 'classroom-agent',
    private now: () => number = Date.now,
    private key: Buffer = randomBytes(32),
    private ttlMs = NONCE_TTL_MS,
  ) {}

  private mac(head: Buffer): Buffer {
    return createHmac('sha256', this.key).update(head).digest().subarray(0, 16);
  }

  nonce(): string {
    const head = Buffer.alloc(16);
    head.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.now()))), 0);
    randomBytes(8).copy(head, 8);
    return Buffer.concat([head, this.mac(head)]).toString('base64url');
  }

  /** 'fresh' when this key made it within its life; 'old' when it made it earlier; 'foreign' otherwise. */
  private nonceState(n: string): 'fresh' | 'old' | 'foreign' {
    const b = Buffer.from(n, 'base64url');
    if (b.length !== 32 || b.toString('base64url') !== n) return 'foreign';
    const head = b.subarray(0, 16);
    if (!timingSafeEqual(b.subarray(16), this.mac(head))) return 'foreign';
    const age = this.now() - Number(head.readBigUInt64BE(0));
    return age >= 0 && age < this.ttlMs ? 'fresh' : 'old';
  }

  /**
   * The WWW-Authenticate values of a 401: SHA-256 first, then MD5 (RFC 7616 §3.7: the preferred
   * first; Hikvision's `MD5digest` takes the MD5 one).
   */
  challenges(stale = false): string[] {
    const n = this.nonce();
    const tail = stale ? ', stale=true' : '';
    return ['SHA-256', 'MD5'].map((alg) => `Digest realm="${this.realm}", qop="auth", algorithm=${alg}, nonce="${n}"${tail}`);
  }

  /**
   * Judge an `Authorization: Digest …` header for `method` and the request-target `uri` against
   * `password` (undefined: no such terminal, or it has no token: always 'bad').
   * `nonceOk` replaces the box's own nonce check (tests with RFC 7616's fixed nonces).
   */
  check(header: string | undefined, method: string, uri: string, password: string | undefined, nonceOk?: (nonce: string) => boolean): DigestVerdict {
    const f = digestParams(header);
    if (!f || password === undefined) return 'bad';
    const alg = f.algorithm ?? 'MD5';
    const a = digestAlgorithm(alg);
    // only what the challenge offered: qop=auth, MD5 or SHA-256 without -sess; the uri of this very request
    if (!a || a.sess || f.realm !== this.realm || f.qop !== 'auth' || !f.nonce || !f.username || f.uri !== uri) return 'bad';
    if (!/^[0-9a-f]{8}$/i.test(f.nc ?? '') || !f.cnonce || !/^[0-9a-f]+$/i.test(f.response ?? '')) return 'bad';
    const want = digestResponse({ algorithm: alg, username: f.username, realm: this.realm, password, method, uri, nonce: f.nonce, qop: 'auth', nc: f.nc, cnonce: f.cnonce });
    const got = Buffer.from(f.response.toLowerCase());
    if (got.length !== want.length || !timingSafeEqual(got, Buffer.from(want))) return 'bad';
    // the password is right: from here on the worst answer is "stale, retry with a new nonce"
    const state = nonceOk ? (nonceOk(f.nonce) ? 'fresh' : 'foreign') : this.nonceState(f.nonce);
    if (state !== 'fresh') return 'stale';
    return this.firstUse(f.nonce, f.nc.toLowerCase()) ? 'ok' : 'stale';
  }

  /** Record (nonce, nc); false when it was seen already (a replay) or the nonce has used up its counts. */
  private firstUse(nonce: string, nc: string): boolean {
    const now = this.now();
    let u = this.used.get(nonce);
    if (!u) {
      for (const [k, v] of this.used) if (now - v.at >= this.ttlMs) this.used.delete(k);
      if (this.used.size >= MAX_NONCES) this.used.delete(this.used.keys().next().value as string);
      u = { at: now, nc: new Set() };
      this.used.set(nonce, u);
    }
    if (u.nc.has(nc) || u.nc.size >= MAX_NC_PER_NONCE) return false;
    u.nc.add(nc);
    return true;
  }
}
