import { hmacOk, type Caller } from '../auth.js';
import { capRejects, json, UNAUTHORISED, type Reply, type RequestCtx, type Route, type RouteEnv } from '../http.js';
import type { Parsed, Reject } from '../types.js';
import { parseWebhook } from './parse.js';

/** Stored ids listed in an answer at most (the count is always given). */
const MAX_IDS = 100;
/**
 * Check-ins in one request at most. A 1 MB body of `{}` items is 350,000 rejects: checking them
 * took 6 s of the one event loop (measured), during which no terminal was answered.
 */
export const MAX_ITEMS = 1000;

/** Throws (the raw input is then kept as unparsable, 400) when the body holds more than MAX_ITEMS items. */
function refuseTooMany(body: Buffer): void {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return; // not JSON: parseWebhook says so with its position
  }
  const items = Array.isArray(doc) ? doc : (doc as { checkins?: unknown } | null)?.checkins;
  if (Array.isArray(items) && items.length > MAX_ITEMS) throw new Error(`${items.length} check-ins in one request, at most ${MAX_ITEMS}: send them in batches`);
}

/**
 * A credential writes only as its own terminal: a terminal's token or HMAC secret only as that
 * terminal; the shared `checkin.token`/`hmacSecret` only as terminals that have no credential of
 * their own and are not configured for another protocol (a webhook client must not post as the
 * ZKTeco terminal, nor clear its terminal-quiet alarm). Refused items become rejects.
 */
export function bindToCaller(p: Parsed, caller: Caller, env: RouteEnv): Parsed {
  const rejects: Reject[] = [...p.rejects];
  const checkins = p.checkins.filter((c) => {
    let why: string | undefined;
    if (caller.terminal) {
      if (c.terminal !== caller.terminal.id) why = `this credential writes only as terminal ${caller.terminal.id}`;
    } else {
      const t = env.terminals.list.find((x) => x.id === c.terminal);
      if (t && (t.protocol !== 'webhook' || env.creds.hasOwn(t) || !t.enabled)) why = 'the shared credential cannot write as this terminal: use its own';
    }
    if (why) rejects.push({ where: `terminal ${c.terminal.slice(0, 64)}`, message: why });
    return !why;
  });
  return { ...p, checkins, rejects: capRejects(rejects) };
}

/**
 * POST /api/v1/checkins: for terminals and systems that can call a URL. Auth, before the body is
 * read: a terminal's own bearer token, `X-Terminal` + `X-Signature` (HMAC-SHA256 of the body,
 * checked before anything is written), or the shared token/secret. 200 = stored (duplicates
 * included, they are harmless to resend); 400 = body not JSON, 422 = no usable item; in both
 * cases the raw body is kept. At most 1000 items a request; answers list at most 20 rejects and 100 ids.
 */
export const webhookRoute: Route = {
  matches: (p) => p === '/api/v1/checkins',
  admit(req, url, env) {
    if (req.method !== 'POST') return json(405, { error: 'use POST' });
    if (!env.creds.shared.token && !env.creds.shared.hmacSecret && !env.terminals.list.some((t) => env.creds.hasOwn(t))) {
      return json(401, { error: 'webhook disabled: set a terminal token, checkin.token or checkin.hmacSecret' });
    }
    return env.creds.anyTerminal(req, url, env.terminals.list) ?? UNAUTHORISED;
  },
  async handle(ctx: RequestCtx, env: RouteEnv): Promise<Reply> {
    const { req, url, caller } = ctx;
    if (caller.hmacSecret) {
      // a signature over a body we did not read whole cannot be checked: nothing is stored
      if (ctx.truncated) return json(413, { error: 'body too large' });
      if (!hmacOk(req, ctx.body, caller.hmacSecret)) return UNAUTHORISED;
    }
    const client =
      caller.terminal?.id ??
      (String(req.headers['x-client-id'] ?? 'default')
        .replace(/[^A-Za-z0-9._-]/g, '')
        .slice(0, 64) ||
        'default');
    const out = await env.ingest.submit({
      // the client id scopes the dedup keys: kept with the raw input so `checkins reparse` rebuilds the same keys
      raw: {
        protocol: 'webhook',
        terminal: caller.terminal?.id ?? null,
        channel: 'http',
        method: 'POST',
        path: `${url.pathname}?client=${client}`,
        contentType: req.headers['content-type'],
        body: ctx.body,
        receivedMs: ctx.receivedMs,
      },
      truncated: ctx.truncated,
      parse: (b) => {
        if (ctx.truncated) throw new Error('body over the size limit');
        refuseTooMany(b);
        return bindToCaller(parseWebhook(b, client), caller, env);
      },
    });
    if (ctx.truncated) return json(413, { error: 'body too large', raw: out.rawId });
    const rejected = capRejects(out.rejects);
    if (out.status === 'unparsable' && out.error) {
      const status = out.rejects.length ? 422 : 400;
      return json(status, { error: out.rejects.length ? 'no usable check-in' : out.error.slice(0, 200), issues: rejected, raw: out.rawId });
    }
    return json(200, {
      stored: out.stored.length,
      duplicates: out.duplicates,
      unknown: out.unknown,
      ids: out.stored.slice(0, MAX_IDS).map((c) => c.id),
      rejected,
      raw: out.rawId,
    });
  },
};
