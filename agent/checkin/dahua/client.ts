import { digestRequest, readAll } from '../digest.js';
import { EventStreamTerminal } from '../event-stream.js';
import type { Part } from '../multipart.js';
import { DAHUA_CODES, parseDahuaPart, parseRecordFinder } from './event.js';

const CATCHUP_DEFAULT_S = 24 * 3600;
const PAGE = 100;

/**
 * Dahua client side for one terminal: eventManager.cgi?action=attach (digest auth, heartbeat
 * asked of the device); after each (re)connection a recordFinder search of AccessControlCardRec
 * from the newest stored event fills the outage gap (RecNo dedupe absorbs the overlap). Devices
 * without recordFinder are logged and streamed only.
 */
export class DahuaStreams extends EventStreamTerminal {
  protected readonly protocol = 'dahua';
  protected readonly searchName = 'recordFinder';

  protected streamPath(): string {
    // the device is asked for a heartbeat three times per watchdog period
    const hbS = Math.max(1, Math.floor(this.ctx.cfg.checkin.streamHeartbeatTimeoutMs / 3000));
    return `/cgi-bin/eventManager.cgi?action=attach&codes=[${DAHUA_CODES.join(',')}]&heartbeat=${hbS}`;
  }

  protected isHeartbeat(p: Part): boolean {
    return p.body.toString('latin1').trim() === 'Heartbeat';
  }

  protected submitPart(p: Part): Promise<unknown> {
    const receivedMs = this.ctx.now();
    return this.ingest.submit({
      raw: { protocol: 'dahua', terminal: this.term.id, channel: 'stream', contentType: p.headers['content-type'], body: p.body, receivedMs },
      parse: (b) => {
        if (p.truncated) throw new Error('part truncated by the device');
        return parseDahuaPart(b, this.term.id, this.term.timezone, receivedMs);
      },
    });
  }

  protected async search(): Promise<number> {
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
        this.searchUnavailable(res.statusCode);
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
    return stored;
  }
}
