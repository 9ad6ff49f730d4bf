import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (pw: crypto.BinaryLike, salt: crypto.BinaryLike, len: number, o: crypto.ScryptOptions) => Promise<Buffer>;

/**
 * scrypt cost: N=2^15, r=8 (32 MiB, ~50-100 ms on a box core). Slow enough that a stolen
 * database does not give the passwords away cheaply, fast enough that a login does not stall
 * the daemon (it runs on libuv's pool, not the event loop).
 */
const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;
const maxmem = 64 * 1024 * 1024;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password.normalize('NFC'), salt, KEYLEN, { N, r: R, p: P, maxmem });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const want = Buffer.from(m[5], 'base64');
  const got = await scrypt(password.normalize('NFC'), Buffer.from(m[4], 'base64'), want.length, { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), maxmem });
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

/** A password the console accepts: at least 8 characters, not all one class of character. */
export function passwordProblem(pw: string): string | undefined {
  if ([...pw].length < 8) return 'at least 8 characters / 至少 8 个字符';
  if (/^\d+$/.test(pw) || /^[a-z]+$/i.test(pw)) return 'mix letters and digits or symbols / 需混合字母与数字或符号';
  return undefined;
}

export interface Session {
  id: string;
  user: string;
  role: string;
  created: number;
  lastSeen: number;
  /** the user row's updated_ms at login: a password change since then ends the session */
  stamp: number;
}

/**
 * Sessions in memory: a restart of the daemon logs everyone out, which is acceptable for a
 * console and means no session secret ever lands on disk. A session ends after `idleMs`
 * without a request or `maxMs` after login, whichever comes first.
 */
export class Sessions {
  private byId = new Map<string, Session>();
  constructor(
    private idleMs: number,
    private maxMs: number,
    private now: () => number = Date.now,
  ) {}

  create(user: string, role: string, stamp = 0): Session {
    const at = this.now();
    const s: Session = { id: crypto.randomBytes(32).toString('base64url'), user, role, created: at, lastSeen: at, stamp };
    this.byId.set(s.id, s);
    this.sweep();
    return s;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    const at = this.now();
    if (at - s.lastSeen > this.idleMs || at - s.created > this.maxMs) {
      this.byId.delete(id);
      return undefined;
    }
    s.lastSeen = at;
    return s;
  }

  /** Is this session still valid? Unlike get(), asking does not keep it alive (a pushed stream must not). */
  alive(id: string): boolean {
    const s = this.byId.get(id);
    const at = this.now();
    return !!s && at - s.lastSeen <= this.idleMs && at - s.created <= this.maxMs;
  }

  end(id: string | undefined): void {
    if (id) this.byId.delete(id);
  }

  private sweep(): void {
    const at = this.now();
    for (const [id, s] of this.byId) if (at - s.lastSeen > this.idleMs || at - s.created > this.maxMs) this.byId.delete(id);
  }
}

/**
 * Failed logins per key (remote address, and user name): after `max` failures within
 * `windowMs` the key is locked until the oldest failure leaves the window. Both keys are
 * checked, so neither one address guessing many names nor many addresses guessing one name
 * gets more than `max` tries per window.
 */
export class LoginLimiter {
  private fails = new Map<string, number[]>();
  constructor(
    private max: number,
    private windowMs: number,
    private now: () => number = Date.now,
  ) {}

  /** ms until the key may try again; 0 when it may now */
  retryAfter(key: string): number {
    const at = this.now();
    const list = (this.fails.get(key) ?? []).filter((t) => at - t < this.windowMs);
    if (list.length) this.fails.set(key, list);
    else this.fails.delete(key);
    return list.length >= this.max ? list[0] + this.windowMs - at : 0;
  }

  fail(key: string): void {
    const list = this.fails.get(key) ?? [];
    list.push(this.now());
    this.fails.set(key, list);
    if (this.fails.size > 10_000) this.fails.delete(this.fails.keys().next().value!);
  }

  succeed(key: string): void {
    this.fails.delete(key);
  }
}
