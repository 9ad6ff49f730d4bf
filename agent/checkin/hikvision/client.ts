import { randomUUID } from 'node:crypto';
import type { TerminalConfig } from '../../config/schema.js';
import { resolveSecret } from '../../config/load.js';
import type { AgentContext } from '../../core/context.js';
import { formatIso } from '../../core/time.js';
import { digestRequest, readAll } from '../digest.js';
import type { Ingest } from '../ingest.js';
import { StreamClient } from '../stream-client.js';
import { isHeartbeat, parseAcsSearch, parseHikEvent } from './event.js';

const HEARTBEAT_WRITE_MS = 10_000;
const CATCHUP_DEFAULT_MS = 24 * 3600_000;
const MAX_PAGES = 200;

/**
 * Hikvision client side for one terminal: holds /ISAPI/Event/notification/alertStream open
 * (digest auth), stores every event part raw before parsing, and after every (re)connection
 * catches up with an AcsEvent search from the newest event it has, so events during the outage
 * are fetched; serialNo dedupe absorbs the overlap. Devices answering the search with
 * notSupport are logged once per connection; their outage gaps then rely on the push channel.
 */
export class HikvisionStreams {
  private client?: StreamClient;
  private lastHb = 0;
  private catching?: Promise<unknown>;
  catchUps = 0;

  constructor(
    private ctx: AgentContext,
    private ingest: Ingest,
    private term: TerminalConfig,
  ) {}

  private get base(): string {
    return this.term.url!.replace(/\/+$/, '');
  }

  start(): void {
    const c = this.ctx.cfg.checkin;
    const log = this.ctx.log.child({ terminal: this.term.id, protocol: 'hikvision' });
    const password = resolveSecret(this.term.password, `terminals[${this.term.id}].password`);
    this.client = new StreamClient({
      url: `${this.base}/ISAPI/Event/notification/alertStream`,
      username: this.term.username,
      password,
      heartbeatTimeoutMs: c.streamHeartbeatTimeoutMs,
      reconnectMinMs: c.reconnectMinMs,
      reconnectMaxMs: c.reconnectMaxMs,
      log,
      onHeartbeat: () => this.heartbeat(),
      onPart: (p) => {
        if (isHeartbeat(p.body)) return this.heartbeat();
        // the face picture that follows an event on some firmware: its size is kept, never the picture
        const picture = /^image\//i.test(p.headers['content-type'] ?? '');
        this.ingest
          .submit({
            raw: { protocol: 'hikvision', terminal: this.term.id, channel: 'stream', contentType: p.headers['content-type'], body: p.body, receivedMs: this.ctx.now() },
            keep: picture ? Buffer.from(`[picture ${p.body.length} bytes not kept]`) : undefined,
            parse: (b) => {
              if (picture) return { checkins: [], rejects: [], ignored: true };
              if (p.truncated) throw new Error('part truncated by the device');
              return parseHikEvent(b, this.term.id);
            },
          })
          .catch((err: Error) => {
            // not stored: reconnecting makes the catch-up search fetch it again
            log.error({ err: err.message }, 'stream part not stored; reconnecting to catch up');
            this.client?.stop();
            this.client?.start();
          });
      },
      onConnected: () => {
        // a successful (re)connection is contact: devices without heartbeats are not "quiet"
        this.heartbeat(true);
        this.catching = this.catchUp().catch((err: Error) => log.warn({ err: err.message }, 'AcsEvent catch-up failed'));
      },
    });
    this.client.start();
  }

  private heartbeat(force = false): void {
    const now = this.ctx.now();
    if (!force && now - this.lastHb < HEARTBEAT_WRITE_MS) return;
    this.lastHb = now;
    this.ingest.repo.heartbeat(this.term.id, 'hikvision', now);
  }

  /** Search AcsEvent from the newest stored event (minus a minute) to now, page by page. */
  async catchUp(): Promise<number> {
    const st = this.ingest.repo.state(this.term.id);
    const now = this.ctx.now();
    const from = st?.last_event_at_ms ? st.last_event_at_ms - 60_000 : now - CATCHUP_DEFAULT_MS;
    const tz = this.term.timezone;
    const searchID = randomUUID();
    const password = resolveSecret(this.term.password, `terminals[${this.term.id}].password`);
    let pos = 0;
    let stored = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = JSON.stringify({
        AcsEventCond: { searchID, searchResultPosition: pos, maxResults: 30, major: 5, minor: 0, startTime: formatIso(from, tz), endTime: formatIso(now + 60_000, tz) },
      });
      const res = await digestRequest(`${this.base}/ISAPI/AccessControl/AcsEvent?format=json`, {
        method: 'POST', body, headers: { 'content-type': 'application/json' }, username: this.term.username, password,
      });
      const buf = await readAll(res);
      if (res.statusCode !== 200) {
        this.ctx.log.warn({ terminal: this.term.id, status: res.statusCode }, 'AcsEvent search not available on this terminal');
        break;
      }
      let info: { more: boolean; count: number };
      try {
        info = parseAcsSearch(buf, this.term.id);
      } catch {
        info = { more: false, count: 0 };
      }
      const out = await this.ingest.submit({
        raw: { protocol: 'hikvision', terminal: this.term.id, channel: 'search', method: 'POST', path: '/ISAPI/AccessControl/AcsEvent', contentType: res.headers['content-type'], body: buf, receivedMs: this.ctx.now() },
        parse: (b) => parseAcsSearch(b, this.term.id),
      });
      stored += out.stored.length;
      pos += info.count;
      if (!info.more || !info.count) break;
    }
    this.catchUps++;
    return stored;
  }

  /** Resolves when the catch-up started by the last connection has finished (tests). */
  async settled(): Promise<void> {
    await this.catching;
  }

  get connects(): number {
    return this.client?.connects ?? 0;
  }

  async stop(): Promise<void> {
    this.client?.stop();
    await this.catching;
  }
}
