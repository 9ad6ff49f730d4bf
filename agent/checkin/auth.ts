import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { TerminalConfig } from '../config/schema.js';
import { resolveSecret } from '../config/load.js';
import { DigestServer } from './push-digest.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The token a request presents: `Authorization: Bearer <t>`, the password of Basic auth (what a
 * Hikvision httpHosts entry can send), or `?token=` when allowed (devices that only take a URL;
 * a URL ends up in proxies' and devices' logs, so headers are preferred: docs/checkin-security.md).
 */
export function presentedToken(req: IncomingMessage, url: URL, allowQuery: boolean): { token: string; via: 'bearer' | 'basic' | 'query' } | undefined {
  const h = req.headers.authorization ?? '';
  if (/^Bearer /i.test(h)) return { token: h.slice(7).trim(), via: 'bearer' };
  if (/^Basic /i.test(h)) {
    const dec = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i >= 0) return { token: dec.slice(i + 1), via: 'basic' };
  }
  const q = allowQuery ? url.searchParams.get('token') : null;
  return q !== null ? { token: q, via: 'query' } : undefined;
}

/** Kept for callers of the shared token alone: true when the request presents exactly `token`. */
export function tokenOk(req: IncomingMessage, url: URL, token: string | undefined): boolean {
  const p = presentedToken(req, url, true);
  return !!token && !!p && same(p.token, token);
}

/** `X-Signature: sha256=<hex>` = HMAC-SHA256(secret, body). */
export function hmacOk(req: IncomingMessage, body: Buffer, secret: string | undefined): boolean {
  if (!secret) return false;
  const h = signatureHeader(req);
  const m = /^sha256=([0-9a-f]{64})$/i.exec(h.trim());
  if (!m) return false;
  const want = createHmac('sha256', secret).update(body).digest('hex');
  return same(m[1].toLowerCase(), want);
}

export const signatureHeader = (req: IncomingMessage): string => String(req.headers['x-signature'] ?? req.headers['x-hub-signature-256'] ?? '');

export function sign(body: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Who a request proved to be, from its request line and headers alone (before any body byte is read). */
export interface Caller {
  /** the terminal the credential belongs to; undefined = the shared `checkin.token`/`hmacSecret` */
  terminal?: TerminalConfig;
  /** the body must still match this HMAC secret before anything is written */
  hmacSecret?: string;
  via: 'bearer' | 'basic' | 'query' | 'hmac' | 'serial' | 'digest';
}

interface TerminalSecrets {
  token?: string;
  hmacSecret?: string;
  allow?: net.BlockList;
}

/** "192.168.1.20", "10.0.0.0/24", "fe80::1", "fd00::/8" into a BlockList; throws naming the bad entry. */
export function addressList(entries: string[], where: string, bl = new net.BlockList()): net.BlockList {
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const type = net.isIPv6(addr) ? 'ipv6' : net.isIPv4(addr) ? 'ipv4' : undefined;
    if (!type) throw new Error(`${where}: "${e}" is not an IP address or CIDR range`);
    if (bits === undefined) bl.addAddress(addr, type);
    else {
      const n = Number(bits);
      if (!Number.isInteger(n) || n < 0 || n > (type === 'ipv4' ? 32 : 128)) throw new Error(`${where}: "${e}" has a bad prefix length`);
      bl.addSubnet(addr, n, type);
    }
  }
  return bl;
}

/** The remote address as a plain IPv4 when it is an IPv4-mapped IPv6 one (::ffff:1.2.3.4). */
export function plainAddress(a: string | undefined): string {
  const s = a ?? '';
  return s.startsWith('::ffff:') && net.isIPv4(s.slice(7)) ? s.slice(7) : s;
}

/**
 * Every terminal's own credentials (resolved once at start), the shared ones, and the address
 * allowlists. One answer for "no such terminal" and "wrong credential", so ids cannot be probed.
 */
export class Credentials {
  private per = new Map<string, TerminalSecrets>();
  /** addresses of configured terminals with an allowlist: exempt from the per-address connection cap */
  readonly trusted = new net.BlockList();
  /** HTTP Digest on pushes (Hikvision httpHosts MD5digest): nonces and their use */
  readonly digest: DigestServer;

  constructor(
    terminals: TerminalConfig[],
    readonly shared: { token?: string; hmacSecret?: string },
    readonly allowQueryToken: boolean,
    digest?: DigestServer,
  ) {
    this.digest = digest ?? new DigestServer();
    for (const t of terminals) {
      const allow = t.allow?.length ? addressList(t.allow, `terminals[${t.id}].allow`) : undefined;
      if (allow) addressList(t.allow!, `terminals[${t.id}].allow`, this.trusted);
      this.per.set(t.id, {
        token: resolveSecret(t.token, `terminals[${t.id}].token`),
        hmacSecret: resolveSecret(t.hmacSecret, `terminals[${t.id}].hmacSecret`),
        allow,
      });
    }
  }

  private secrets(t: TerminalConfig): TerminalSecrets {
    return this.per.get(t.id) ?? {};
  }

  /** Whether the terminal has a credential of its own (then the shared one cannot write as it). */
  hasOwn(t: TerminalConfig): boolean {
    const s = this.secrets(t);
    return !!(s.token || s.hmacSecret);
  }

  /** The source address is in the terminal's allowlist (or it has none). */
  fromAllowed(t: TerminalConfig, remote: string | undefined): boolean {
    const bl = this.secrets(t).allow;
    if (!bl) return true;
    const a = plainAddress(remote);
    return bl.check(a, net.isIPv6(a) ? 'ipv6' : 'ipv4');
  }

  isTrusted(remote: string | undefined): boolean {
    const a = plainAddress(remote);
    return net.isIP(a) !== 0 && this.trusted.check(a, net.isIPv6(a) ? 'ipv6' : 'ipv4');
  }

  /**
   * A token-bearing request for `term` (a route that names its terminal, e.g. /hikvision/<id>):
   * the terminal's own token, else the shared token if the terminal has no credential of its own.
   */
  forTerminal(req: IncomingMessage, url: URL, term: TerminalConfig | undefined): Caller | undefined {
    return this.judgeTerminal(req, url, term).caller;
  }

  /** The token a terminal's pushes must prove: its own, else the shared one when it has no credential of its own. */
  private tokenOf(term: TerminalConfig): string | undefined {
    const own = this.secrets(term).token;
    if (own) return own;
    return this.hasOwn(term) ? undefined : this.shared.token;
  }

  /**
   * As forTerminal, with HTTP Digest (RFC 7616, push-digest.ts) beside Bearer, Basic and ?token=;
   * `stale` when a Digest response proved the token over a nonce that is no longer valid (the
   * 401 then says stale=true and the client retries without asking for the password again).
   */
  judgeTerminal(req: IncomingMessage, url: URL, term: TerminalConfig | undefined): { caller?: Caller; stale?: boolean } {
    const ok = !!term && this.fromAllowed(term, req.socket.remoteAddress);
    const token = ok ? this.tokenOf(term!) : undefined;
    const h = req.headers.authorization ?? '';
    if (/^Digest\s/i.test(h)) {
      const v = this.digest.check(h, req.method ?? 'GET', req.url ?? '/', token);
      return v === 'ok' ? { caller: { terminal: term!, via: 'digest' } } : { stale: v === 'stale' };
    }
    const p = presentedToken(req, url, this.allowQueryToken);
    return token && p && same(p.token, token) ? { caller: { terminal: term!, via: p.via } } : {};
  }

  /**
   * A request that names no terminal in its path (the webhook): a terminal's own token finds
   * that terminal; `X-Terminal` + `X-Signature` finds a terminal's HMAC secret (checked once the
   * body is read); the shared token or shared HMAC secret stand for "no terminal in particular".
   */
  anyTerminal(req: IncomingMessage, url: URL, terminals: TerminalConfig[]): Caller | undefined {
    const remote = req.socket.remoteAddress;
    const p = presentedToken(req, url, this.allowQueryToken);
    if (p) {
      for (const t of terminals) {
        const own = this.secrets(t).token;
        if (own && same(p.token, own)) return this.fromAllowed(t, remote) ? { terminal: t, via: p.via } : undefined;
      }
      if (this.shared.token && same(p.token, this.shared.token)) return { via: p.via };
    }
    if (signatureHeader(req)) {
      const named = String(req.headers['x-terminal'] ?? '');
      if (named) {
        const t = terminals.find((x) => x.id === named && x.enabled);
        const s = t ? this.secrets(t).hmacSecret : undefined;
        return t && s && this.fromAllowed(t, remote) ? { terminal: t, hmacSecret: s, via: 'hmac' } : undefined;
      }
      if (this.shared.hmacSecret) return { hmacSecret: this.shared.hmacSecret, via: 'hmac' };
    }
    return undefined;
  }
}
