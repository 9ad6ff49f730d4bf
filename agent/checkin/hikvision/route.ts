import { json, safeDecode, text, UNAUTHORISED, type Reply, type RequestCtx, type Route, type RouteEnv } from '../http.js';
import { FormError, readForm, type FormPart } from '../form.js';
import { boundaryOf } from '../multipart.js';
import type { Parsed } from '../types.js';
import { parseHikEvent } from './event.js';

const isPicture = (p: FormPart) => /^image\//i.test(p.mimeType) || (!!p.filename && !/json|xml|text/i.test(p.mimeType));

/**
 * The raw body to keep of a multipart push: every part except pictures, which are replaced by a
 * one-line note of their size. Face pictures are biometric data the box must not hoard for 3
 * years beside the check-in (vision.keepPhotos governs photos, and it is off by default).
 * The result is itself a valid multipart body under the same Content-Type, so `checkins reparse`
 * reads it like the original.
 */
export function withoutPictures(parts: FormPart[], boundary: string): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    const content = isPicture(p) ? Buffer.from(`[picture ${p.body.length} bytes not kept]`) : p.body;
    const type = isPicture(p) ? 'text/plain' : p.mimeType;
    out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disp}\r\nContent-Type: ${type}\r\n\r\n`), content, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

/** The event of a push's parts: the `event_log` part, or the first part that is not a picture. */
export function eventPart(parts: FormPart[]): FormPart {
  const ev = parts.find((p) => p.name === 'event_log') ?? parts.find((p) => !isPicture(p));
  if (!ev) throw new FormError('multipart push without an event_log part');
  return ev;
}

/**
 * Read a push: plain JSON (or XML), or multipart/form-data whose `event_log` part is the JSON.
 * Framework-free: Content-Type + body bytes in, parsed events out; throws (FormError or Error)
 * when nothing can be read.
 */
export async function readHikPush(body: Buffer, contentType: string | undefined, terminal: string, tz: string): Promise<{ parsed: Parsed; parts?: FormPart[] }> {
  if (!/^multipart\//i.test(contentType ?? '')) return { parsed: parseHikEvent(body, terminal, tz, contentType) };
  const parts = await readForm(contentType, body);
  const ev = eventPart(parts);
  return { parsed: parseHikEvent(ev.body, terminal, tz, ev.mimeType), parts };
}

/**
 * Hikvision HTTP host push: the terminal's httpHosts entry points at
 * http://<box>:<port>/hikvision/<terminal id> with the terminal's token as the password of the
 * httpHosts `basic` or `MD5digest` method (Digest: push-digest.ts; every 401 carries the
 * challenges); ?token= only for firmware that takes nothing else. Unknown
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
    const j = env.creds.judgeTerminal(req, url, term?.protocol === 'hikvision' ? term : undefined);
    // the same 401 for every refusal, with the Digest challenges (httpHosts MD5digest answers one)
    return j.caller ?? { ...UNAUTHORISED, headers: { 'www-authenticate': env.creds.digest.challenges(j.stale) } };
  },
  async handle(ctx: RequestCtx, env: RouteEnv): Promise<Reply> {
    const { req, url } = ctx;
    const term = ctx.caller.terminal!;
    const ct = req.headers['content-type'];
    let parsed: Parsed | undefined;
    let failure: Error | undefined;
    let keep: Buffer | undefined;
    try {
      if (ctx.truncated) throw new Error('body over the size limit');
      const r = await readHikPush(ctx.body, ct, term.id, term.timezone);
      parsed = r.parsed;
      const boundary = boundaryOf(ct);
      if (r.parts && boundary) keep = withoutPictures(r.parts, boundary);
    } catch (err) {
      failure = err as Error;
    }
    const out = await env.ingest.submit({
      raw: { protocol: 'hikvision', terminal: term.id, channel: 'http', method: 'POST', path: url.pathname, contentType: ct, body: ctx.body, receivedMs: ctx.receivedMs },
      keep,
      truncated: ctx.truncated,
      parse: () => {
        if (failure) throw failure;
        return parsed!;
      },
    });
    if (ctx.truncated) return json(413, { error: 'body too large' });
    // the parser's message may quote the payload (a person's number): the log names the raw row only
    if (out.status === 'unparsable') {
      env.warn(`hik-unreadable:${term.id}`, { terminal: term.id, raw: out.rawId }, 'Hikvision push unreadable (kept raw; classroom-agent checkins unknown, then checkins reparse)');
      // never acknowledged as success: the terminal keeps the event and sends it again
      return json(400, { error: failure instanceof FormError ? 'multipart body unreadable' : 'event unreadable', raw: out.rawId });
    }
    return text(200, 'OK');
  },
};
