import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A shared token, given as `Authorization: Bearer <t>`, as the password of Basic auth (what a
 * Hikvision httpHosts entry can send), or as `?token=` (for devices that only take a URL).
 */
export function tokenOk(req: IncomingMessage, url: URL, token: string | undefined): boolean {
  if (!token) return false;
  const h = req.headers.authorization ?? '';
  if (/^Bearer /i.test(h) && same(h.slice(7).trim(), token)) return true;
  if (/^Basic /i.test(h)) {
    const dec = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i >= 0 && same(dec.slice(i + 1), token)) return true;
  }
  const q = url.searchParams.get('token');
  return q !== null && same(q, token);
}

/** `X-Signature: sha256=<hex>` = HMAC-SHA256(secret, body). */
export function hmacOk(req: IncomingMessage, body: Buffer, secret: string | undefined): boolean {
  if (!secret) return false;
  const h = String(req.headers['x-signature'] ?? req.headers['x-hub-signature-256'] ?? '');
  const m = /^sha256=([0-9a-f]{64})$/i.exec(h.trim());
  if (!m) return false;
  const want = createHmac('sha256', secret).update(body).digest('hex');
  return same(m[1].toLowerCase(), want);
}

export function sign(body: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
