import { json, safeDecode, text, UNAUTHORISED, type Reply, type RequestCtx, type Route, type RouteEnv } from '../http.js';
import { boundaryOf, splitMultipart, type Part } from '../multipart.js';
import type { Parsed } from '../types.js';
import { parseHikEvent } from './event.js';

const nameOf = (p: Part) => /name="([^"]*)"/i.exec(p.headers['content-disposition'] ?? '')?.[1] ?? '';
const isImage = (p: Part) => /^image\//i.test(p.headers['content-type'] ?? '') || /filename=/i.test(p.headers['content-disposition'] ?? '');

/**
 * The raw body to keep of a multipart push: every part except pictures, which are replaced by a
 * one-line note of their size. Face pictures are biometric data the box must not hoard for 3
 * years beside the check-in (vision.keepPhotos governs photos, and it is off by default).
 */
export function withoutPictures(body: Buffer, boundary: string): Buffer {
  const parts = splitMultipart(body, boundary);
  if (!parts.length) return body;
  const out: Buffer[] = [];
  for (const p of parts) {
    const head = Object.entries(p.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    const content = isImage(p) ? Buffer.from(`[picture ${p.body.length} bytes not kept]`) : p.body;
    out.push(Buffer.from(`--${boundary}\r\n${head}\r\n\r\n`), content, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

/** Parse a push: plain JSON, or multipart/form-data whose `event_log` (or first non-picture) part is the JSON. */
export function parseHikPush(body: Buffer, contentType: string | undefined, terminal: string): Parsed {
  const boundary = /multipart\//i.test(contentType ?? '') ? boundaryOf(contentType) : undefined;
  if (!boundary) return parseHikEvent(body, terminal);
  const parts = splitMultipart(body, boundary);
  const ev = parts.find((p) => nameOf(p) === 'event_log') ?? parts.find((p) => !isImage(p));
  if (!ev) throw new Error('multipart push without an event_log part');
  return parseHikEvent(ev.body, terminal);
}

/**
 * Hikvision HTTP host push: the terminal's httpHosts entry points at
 * http://<box>:<port>/hikvision/<terminal id> (with the terminal's token as Basic password,
 * the httpHosts `basic` method; ?token= only for firmware that takes nothing else). Unknown
 * terminal and wrong credential get the same 401, before any body byte is read.
 * Answers 200 once the raw body is stored, whatever it held: the device retries otherwise.
 */
export const hikvisionPushRoute: Route = {
  matches: (p) => p.startsWith('/hikvision/'),
  admit(req, url, env) {
    const id = safeDecode(url.pathname.slice('/hikvision/'.length));
    if (id === undefined) return json(404, { error: 'no such endpoint' });
    if (req.method !== 'POST') return json(405, { error: 'use POST' });
    const term = env.terminals.byId(id);
    return env.creds.forTerminal(req, url, term?.protocol === 'hikvision' ? term : undefined) ?? UNAUTHORISED;
  },
  async handle(ctx: RequestCtx, env: RouteEnv): Promise<Reply> {
    const { req, url } = ctx;
    const term = ctx.caller.terminal!;
    const ct = req.headers['content-type'];
    const boundary = /multipart\//i.test(ct ?? '') ? boundaryOf(ct) : undefined;
    let keep: Buffer | undefined;
    try {
      keep = boundary ? withoutPictures(ctx.body, boundary) : undefined;
    } catch {
      keep = undefined;
    }
    const out = await env.ingest.submit({
      raw: { protocol: 'hikvision', terminal: term.id, channel: 'http', method: 'POST', path: url.pathname, contentType: ct, body: ctx.body, receivedMs: ctx.receivedMs },
      keep,
      truncated: ctx.truncated,
      parse: (b) => {
        if (ctx.truncated) throw new Error('body over the size limit');
        return parseHikPush(b, ct, term.id);
      },
    });
    if (ctx.truncated) return json(413, { error: 'body too large' });
    // the parser's message may quote the payload (a person's number): the log names the raw row only
    if (out.status === 'unparsable') env.warn(`hik-unreadable:${term.id}`, { terminal: term.id, raw: out.rawId }, 'Hikvision push unreadable (kept raw; classroom-agent checkins unknown)');
    return text(200, 'OK');
  },
};
