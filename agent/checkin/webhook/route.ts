import { hmacOk, tokenOk } from '../auth.js';
import { json, type Reply, type RequestCtx, type Route, type RouteEnv } from '../http.js';
import { parseWebhook } from './parse.js';

/**
 * POST /api/v1/checkins: for terminals and systems that can call a URL. Auth: bearer token or
 * an HMAC-SHA256 signature of the body. 200 = stored (duplicates included, they are harmless to
 * resend); 400 = body not JSON, 422 = no usable item; in both cases the raw body is kept.
 */
export const webhookRoute: Route = {
  matches: (p) => p === '/api/v1/checkins',
  async handle(ctx: RequestCtx, env: RouteEnv): Promise<Reply> {
    const { req, url } = ctx;
    if (req.method !== 'POST') return json(405, { error: 'use POST' });
    if (!tokenOk(req, url, env.token) && !(!ctx.truncated && hmacOk(req, ctx.body, env.hmacSecret))) {
      return json(401, { error: env.token || env.hmacSecret ? 'bearer token or X-Signature required' : 'webhook disabled: set checkin.token or checkin.hmacSecret' });
    }
    const client = String(req.headers['x-client-id'] ?? 'default').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64) || 'default';
    const out = await env.ingest.submit({
      // the client id scopes the dedup keys: kept with the raw input so `checkins reparse` rebuilds the same keys
      raw: { protocol: 'webhook', terminal: null, channel: 'http', method: 'POST', path: `${url.pathname}?client=${client}`, contentType: req.headers['content-type'], body: ctx.body, receivedMs: ctx.receivedMs },
      truncated: ctx.truncated,
      parse: (b) => {
        if (ctx.truncated) throw new Error('body over the size limit');
        return parseWebhook(b, client);
      },
    });
    if (ctx.truncated) return json(413, { error: 'body too large', raw: out.rawId });
    if (out.status === 'unparsable' && out.error) {
      const status = out.rejects.length ? 422 : 400;
      return json(status, { error: out.rejects.length ? 'no usable check-in' : out.error, issues: out.rejects, raw: out.rawId });
    }
    return json(200, {
      stored: out.stored.length,
      duplicates: out.duplicates,
      unknown: out.unknown,
      ids: out.stored.map((c) => c.id),
      rejected: out.rejects,
      raw: out.rawId,
    });
  },
};
