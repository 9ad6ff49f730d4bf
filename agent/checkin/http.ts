import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ingest } from './ingest.js';
import type { Terminals } from './terminals.js';
import type { Logger } from 'pino';

export interface RequestCtx {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  /** the body was larger than the limit: `body` holds its first maxBodyBytes */
  truncated: boolean;
  receivedMs: number;
}

export interface Reply {
  status: number;
  body: string | Buffer | object;
  contentType?: string;
}

export interface RouteEnv {
  ingest: Ingest;
  terminals: Terminals;
  log: Logger;
  token?: string;
  hmacSecret?: string;
  now: () => number;
  /** last durable poll write per terminal (polls are throttled) */
  lastPoll: Map<string, number>;
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

/** One adapter's HTTP entry: claims paths and answers them. */
export interface Route {
  matches(pathname: string): boolean;
  handle(ctx: RequestCtx, env: RouteEnv): Promise<Reply>;
}

export function send(res: ServerResponse, r: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const isText = typeof r.body === 'string' || Buffer.isBuffer(r.body);
  const payload = isText ? r.body : JSON.stringify(r.body);
  res.writeHead(r.status, {
    'content-type': r.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8'),
    'content-length': Buffer.byteLength(payload as string | Buffer),
  });
  res.end(payload);
}

export const text = (status: number, body: string): Reply => ({ status, body });
export const json = (status: number, body: object): Reply => ({ status, body });
