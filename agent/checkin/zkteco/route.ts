import { zoneOffsetMinutes } from '../../core/time.js';
import { text, type Reply, type RequestCtx, type Route, type RouteEnv } from '../http.js';
import { handshake, nonEmptyLines, parseAttlog } from './attlog.js';
import { minimise } from './operlog.js';

/**
 * ZKTeco PUSH / ADMS server side (/iclock/...). The terminal starts every exchange. Terminals
 * cannot authenticate: a request is admitted only with a configured serial (SN) in its query,
 * from the terminal's allowed source addresses when it has an allowlist (strongly advised), and
 * before any body byte is read. Unknown serial and wrong address get the same 401.
 * Every data POST is stored before the terminal's `OK`, minimised first (operlog.ts): templates,
 * passwords, cards and pictures never reach the disk.
 */
export const zktecoRoute: Route = {
  matches: (p) => p.startsWith('/iclock/'),
  admit(req, url, env) {
    const sn = url.searchParams.get('SN') ?? url.searchParams.get('sn') ?? '';
    let term = sn ? env.terminals.bySerial('zkteco', sn) : undefined;
    if (!term && sn && /^[A-Za-z0-9._-]{1,64}$/.test(sn)) {
      // approved with `checkins approve <serial>` (as ZKBioTime/HikCentral approve a new device)
      const ok = env.ingest.repo.approved('zkteco', sn);
      if (ok?.terminal_id) term = { id: ok.terminal_id, protocol: 'zkteco', serial: sn, timezone: ok.timezone ?? 'Asia/Shanghai', enabled: true };
      // remembered for approval (one row per serial, no body read): `checkins terminals`, `checkins unknown`, doctor
      else env.knocks.knock('zkteco', sn, Date.now(), req.socket.remoteAddress ?? null);
    }
    if (!term || !env.creds.fromAllowed(term, req.socket.remoteAddress)) {
      env.warn(`zk-sn:${term ? term.id : '?'}`, { endpoint: url.pathname.slice(0, 40), sn: sn.slice(0, 40) }, 'ZKTeco request from an unconfigured serial or address refused');
      return text(401, 'ERROR: unauthorised\n');
    }
    return { terminal: term, via: 'serial' };
  },
  async handle(ctx: RequestCtx, env: RouteEnv): Promise<Reply> {
    const { req, url } = ctx;
    const endpoint = url.pathname.replace(/\.aspx$/, '');
    const term = ctx.caller.terminal!;
    const sn = url.searchParams.get('SN') ?? url.searchParams.get('sn') ?? '';
    const repo = env.ingest.repo;
    if (endpoint === '/iclock/cdata' && req.method === 'GET') {
      repo.heartbeat(term.id, 'zkteco', ctx.receivedMs);
      const st = repo.state(term.id);
      const tzHours = zoneOffsetMinutes(ctx.receivedMs, term.timezone) / 60;
      return text(200, handshake(sn, st?.cursor ?? null, tzHours));
    }
    if (endpoint === '/iclock/getrequest' && req.method === 'GET') {
      // polls come every few seconds; one durable write per 10 s per terminal is enough for health
      if (ctx.receivedMs - (env.lastPoll.get(term.id) ?? 0) >= 10_000 || ctx.receivedMs < (env.lastPoll.get(term.id) ?? 0)) {
        env.lastPoll.set(term.id, ctx.receivedMs);
        repo.heartbeat(term.id, 'zkteco', ctx.receivedMs);
      }
      // no queued commands: the roster is managed on the terminal or by its vendor cloud
      return text(200, 'OK');
    }
    if ((endpoint === '/iclock/cdata' || endpoint === '/iclock/devicecmd') && req.method === 'POST') {
      const table = (url.searchParams.get('table') ?? (endpoint === '/iclock/devicecmd' ? 'DEVICECMD' : '')).toUpperCase();
      const stamp = url.searchParams.get('Stamp') ?? url.searchParams.get('stamp') ?? undefined;
      const keep = minimise(table, ctx.body);
      const out = await env.ingest.submit({
        raw: {
          protocol: 'zkteco',
          terminal: term.id,
          channel: 'http',
          method: req.method,
          path: `${url.pathname}${url.search}`,
          contentType: req.headers['content-type'],
          body: ctx.body,
          receivedMs: ctx.receivedMs,
        },
        keep,
        truncated: ctx.truncated,
        parse: (b) =>
          table === 'ATTLOG' && !ctx.truncated
            ? parseAttlog(b, term.id, sn, term.timezone, stamp)
            : { checkins: [], rejects: ctx.truncated ? [{ where: 'body', message: 'over the size limit' }] : [], ignored: !ctx.truncated },
      });
      if (ctx.truncated) return text(413, 'ERROR: body too large\n');
      if (table === 'ATTLOG') {
        // nothing in the body could be read: no OK, so the terminal keeps the rows and sends them
        // again (raw kept; `checkins reparse` once the cause is fixed)
        if (out.status === 'unparsable') {
          env.warn(`zk-unreadable:${term.id}`, { terminal: term.id, raw: out.rawId }, 'ATTLOG unreadable, not acknowledged (kept raw; classroom-agent checkins unknown)');
          return text(400, 'ERROR: ATTLOG unreadable\n');
        }
        if (out.rejects.length)
          env.warn(`zk-rejects:${term.id}`, { terminal: term.id, raw: out.rawId, rejects: out.rejects.length }, 'ATTLOG lines unusable (kept raw; classroom-agent checkins unknown)');
        return text(200, `OK: ${nonEmptyLines(ctx.body)}`);
      }
      return text(200, table === 'OPTIONS' ? 'OK: 1' : 'OK');
    }
    return text(404, 'ERROR: unknown endpoint\n');
  },
};
