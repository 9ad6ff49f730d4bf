import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Ingest } from './ingest.js';
import type { Terminals } from './terminals.js';
import type { Logger } from 'pino';
import type { Caller, Credentials } from './auth.js';
import type { Reject } from './types.js';
import type { KnockBook } from './zkteco/knocks.js';

export interface RequestCtx {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  /** the body was larger than the limit: `body` holds its first maxBodyBytes */
  truncated: boolean;
  receivedMs: number;
  /** who the request proved to be before its body was read (route.admit) */
  caller: Caller;
}

export interface Reply {
  status: number;
  body: string | Buffer | object;
  contentType?: string;
  /** more response headers (a 401's WWW-Authenticate challenges) */
  headers?: Record<string, string | string[]>;
}

export interface RouteEnv {
  ingest: Ingest;
  terminals: Terminals;
  log: Logger;
  creds: Credentials;
  now: () => number;
  /** last durable poll write per terminal (polls are throttled) */
  lastPoll: Map<string, number>;
  /** unregistered ZKTeco serials, written in batches (zkteco/knocks.ts) */
  knocks: KnockBook;
  /** a warning at most once a minute per key, with the count of what was suppressed */
  warn: (key: string, obj: object, msg: string) => void;
}

/** Rate-limited warnings: a terminal sending garbage every few seconds must not flood the log. */
export function warnLimiter(log: Logger, now: () => number, everyMs = 60_000) {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (key: string, obj: object, msg: string) => {
    const t = now();
    const s = seen.get(key);
    if (s && t - s.at < everyMs && t >= s.at) return void s.suppressed++;
    log.warn({ ...obj, ...(s?.suppressed ? { suppressed: s.suppressed } : {}) }, msg);
    if (seen.size > 10_000) seen.clear();
    seen.set(key, { at: t, suppressed: 0 });
  };
}

/**
 * One adapter's HTTP entry: claims paths, admits a request from its request line and headers
 * alone (no body byte is read before `admit` returns a Caller), then answers it.
 */
export interface Route {
  matches(pathname: string): boolean;
  admit(req: IncomingMessage, url: URL, env: RouteEnv): Caller | Reply;
  handle(ctx: RequestCtx, env: RouteEnv): Promise<Reply>;
}

export const isReply = (x: Caller | Reply): x is Reply => typeof (x as Reply).status === 'number';

/** The one answer for "no such terminal" and "wrong credential": ids cannot be probed. */
export const UNAUTHORISED: Reply = { status: 401, body: { error: 'unauthorised: this terminal is not configured, or the credential or source address is wrong' } };

/** Rejects as answered and stored: at most `max` listed and the count of the rest, so a 1 MB request cannot make a 30 MB answer. */
export const MAX_REJECTS = 20;
export function capRejects(r: Reject[], max = MAX_REJECTS): Reject[] {
  if (r.length <= max) return r.map(shortReject);
  return [...r.slice(0, max).map(shortReject), { where: '…', message: `${r.length - max} more not listed` }];
}
const shortReject = (r: Reject): Reject => ({ where: r.where.slice(0, 80), message: r.message.slice(0, 200) });

/** decodeURIComponent that answers undefined for a malformed escape (%zz, a lone %E4) instead of throwing. */
export function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** A reply's body bytes and its headers (content type and length included). */
function encode(r: Reply): { payload: Buffer; headers: Record<string, string | string[]> } {
  const isText = typeof r.body === 'string' || Buffer.isBuffer(r.body);
  const payload = Buffer.isBuffer(r.body) ? r.body : Buffer.from(isText ? (r.body as string) : JSON.stringify(r.body));
  return {
    payload,
    headers: { ...r.headers, 'content-type': r.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8'), 'content-length': String(payload.length) },
  };
}

export function send(res: ServerResponse, r: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const { payload, headers } = encode(r);
  res.writeHead(r.status, headers);
  res.end(payload);
}

/**
 * The reply written on the socket itself, with `Connection: close`, and the socket half-closed:
 * for a refusal whose body is not going to be read. Not through Node's response: after a
 * `Connection: close` answer Node reads (dumps) the rest of the body and then destroys the
 * socket, and a close with unread data is a reset that can reach the client before it has read
 * its answer (EPIPE on its pending write). The caller destroys the socket a little later.
 */
export function sendAndHalfClose(socket: Socket, r: Reply): void {
  // already answered and half-closed (shed by the gate): whoever ended it destroys it later; a
  // destroy now would reset the client before it reads the answer it has
  if (!socket.writable) return;
  const { payload, headers } = encode(r);
  const lines = [`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}`];
  for (const [k, v] of Object.entries({ ...headers, connection: 'close' })) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]));
}

/** how long an answered, half-closed socket is left for its client to read the answer before it is destroyed */
export const CLOSE_GRACE_MS = 5_000;

/**
 * An empty answer (`status` like '408 Request Timeout') written on a socket whose request is not
 * read, half-closed, destroyed CLOSE_GRACE_MS later. Not destroyed at once: the client's unread
 * bytes would make the close a reset, which can reach the client before the answer already in
 * its receive queue. Over TLS before the handshake nothing can be said: the socket is closed.
 */
export function answerAndClose(socket: Socket, status: string, plain: boolean, headers = ''): void {
  // read nothing more: the HTTP server must not go on to answer (or destroy) what it had buffered
  socket.pause();
  if (plain && socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${headers}Content-Length: 0\r\n\r\n`);
  else socket.destroy();
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

export const text = (status: number, body: string): Reply => ({ status, body });
export const json = (status: number, body: object): Reply => ({ status, body });
