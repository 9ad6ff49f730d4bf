import type { TerminalConfig } from '../../config/schema.js';
import { resolveSecret } from '../../config/load.js';
import type { AgentContext } from '../../core/context.js';
import { digestRequest, readAll } from '../digest.js';
import type { Ingest } from '../ingest.js';
import { StreamClient } from '../stream-client.js';
import { DAHUA_CODES, parseDahuaPart, parseRecordFinder } from './event.js';

const HEARTBEAT_WRITE_MS = 10_000;
const CATCHUP_DEFAULT_S = 24 * 3600;
const PAGE = 100;

/**
 * Dahua client side for one terminal: eventManager.cgi?action=attach (digest auth, heartbeat
 * asked of the device), every part stored raw before parsing; after each (re)connection a
 * recordFinder search of AccessControlCardRec from the newest stored event fills the outage gap
 * (RecNo dedupe absorbs the overlap). Devices without recordFinder are logged and streamed only.
 */
export class DahuaStreams {
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

  private get password(): string | undefined {
    return resolveSecret(this.term.password, `terminals[${this.term.id}].password`);
  }

  start(): void {
    const c = this.ctx.cfg.checkin;
    const log = this.ctx.log.child({ terminal: this.term.id, protocol: 'dahua' });
    const hbS = Math.max(1, Math.floor(c.streamHeartbeatTimeoutMs / 3000));
    this.client = new StreamClient({
      url: `${this.base}/cgi-bin/eventManager.cgi?action=attach&codes=[${DAHUA_CODES.join(',')}]&heartbeat=${hbS}`,
      username: this.term.username,
      password: this.password,
      heartbeatTimeoutMs: c.streamHeartbeatTimeoutMs,
      reconnectMinMs: c.reconnectMinMs,
      reconnectMaxMs: c.reconnectMaxMs,
      log,
      onHeartbeat: () => this.heartbeat(),
      onPart: (p) => {
        if (p.body.toString('latin1').trim() === 'Heartbeat') return this.heartbeat();
        const receivedMs = this.ctx.now();
        this.ingest
          .submit({
            raw: { protocol: 'dahua', terminal: this.term.id, channel: 'stream', contentType: p.headers['content-type'], body: p.body, receivedMs },
            parse: (b) => {
              if (p.truncated) throw new Error('part truncated by the device');
              return parseDahuaPart(b, this.term.id, this.term.timezone, receivedMs);
            },
          })
          .catch((err: Error) => {
            log.error({ err: err.message }, 'stream part not stored; reconnecting to catch up');
            this.client?.stop();
            this.client?.start();
          });
      },
      onConnected: () => {
        // a successful (re)connection is contact: devices without heartbeats are not "quiet"
        this.heartbeat(true);
        this.catching = this.catchUp().catch((err: Error) => log.warn({ err: err.message }, 'recordFinder catch-up failed'));
      },
    });
    this.client.start();
  }

  private heartbeat(force = false): void {
    const now = this.ctx.now();
    if (!force && now - this.lastHb < HEARTBEAT_WRITE_MS) return;
    this.lastHb = now;
    this.ingest.repo.heartbeat(this.term.id, 'dahua', now);
  }

  async catchUp(): Promise<number> {
    const st = this.ingest.repo.state(this.term.id);
    const now = Math.floor(this.ctx.now() / 1000);
    let start = st?.last_event_at_ms ? Math.floor(st.last_event_at_ms / 1000) - 60 : now - CATCHUP_DEFAULT_S;
    let stored = 0;
    let count = PAGE;
    for (let page = 0; page < 200; page++) {
      const path = `/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&StartTime=${start}&EndTime=${now + 60}&count=${count}`;
      const res = await digestRequest(`${this.base}${path}`, { username: this.term.username, password: this.password });
      const buf = await readAll(res);
      if (res.statusCode !== 200) {
        this.ctx.log.warn({ terminal: this.term.id, status: res.statusCode }, 'recordFinder not available on this terminal');
        break;
      }
      let info: { found: number; lastTime: number };
      try {
        info = parseRecordFinder(buf, this.term.id, this.term.timezone, this.ctx.now());
      } catch {
        info = { found: 0, lastTime: 0 };
      }
      const out = await this.ingest.submit({
        raw: { protocol: 'dahua', terminal: this.term.id, channel: 'search', method: 'GET', path, body: buf, receivedMs: this.ctx.now() },
        parse: (b) => parseRecordFinder(b, this.term.id, this.term.timezone, this.ctx.now()),
      });
      stored += out.stored.length;
      // a full page: continue from its newest record's second (overlap deduplicated by RecNo)
      if (info.found < count) break;
      if (info.lastTime <= start) {
        // a full page within one second: paging by time cannot advance, ask for a bigger page
        if (count >= 10_000) break;
        count *= 4;
        continue;
      }
      start = info.lastTime;
    }
    this.catchUps++;
    return stored;
  }

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
