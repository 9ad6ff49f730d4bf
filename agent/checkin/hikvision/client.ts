import { randomUUID } from 'node:crypto';
import { formatIso } from '../../core/time.js';
import { digestRequest, readAll } from '../digest.js';
import { EventStreamTerminal } from '../event-stream.js';
import type { Part } from '../multipart.js';
import { isHeartbeat, parseAcsSearch, parseHikEvent } from './event.js';

const CATCHUP_DEFAULT_MS = 24 * 3600_000;
const MAX_PAGES = 200;

/**
 * Hikvision client side for one terminal: holds /ISAPI/Event/notification/alertStream open
 * (digest auth) and after every (re)connection catches up with an AcsEvent search; serialNo
 * dedupe absorbs the overlap. Devices answering the search with notSupport are logged once per
 * connection; their outage gaps then rely on the push channel.
 */
export class HikvisionStreams extends EventStreamTerminal {
  protected readonly protocol = 'hikvision';
  protected readonly searchName = 'AcsEvent';

  protected streamPath(): string {
    return '/ISAPI/Event/notification/alertStream';
  }

  protected isHeartbeat(p: Part): boolean {
    return isHeartbeat(p.body);
  }

  protected submitPart(p: Part): Promise<unknown> {
    // the face picture that follows an event on some firmware: its size is kept, never the picture
    const picture = /^image\//i.test(p.headers['content-type'] ?? '');
    return this.ingest.submit({
      raw: { protocol: 'hikvision', terminal: this.term.id, channel: 'stream', contentType: p.headers['content-type'], body: p.body, receivedMs: this.ctx.now() },
      keep: picture ? Buffer.from(`[picture ${p.body.length} bytes not kept]`) : undefined,
      parse: (b) => {
        if (picture) return { checkins: [], rejects: [], ignored: true };
        if (p.truncated) throw new Error('part truncated by the device');
        return parseHikEvent(b, this.term.id, this.term.timezone, p.headers['content-type']);
      },
    });
  }

  /** AcsEvent from the newest stored event (minus a minute) to now, page by page. */
  protected async search(): Promise<number> {
    const st = this.ingest.repo.state(this.term.id);
    const now = this.ctx.now();
    const from = st?.last_event_at_ms ? st.last_event_at_ms - 60_000 : now - CATCHUP_DEFAULT_MS;
    const tz = this.term.timezone;
    const searchID = randomUUID();
    const password = this.password;
    let pos = 0;
    let stored = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = JSON.stringify({
        AcsEventCond: { searchID, searchResultPosition: pos, maxResults: 30, major: 5, minor: 0, startTime: formatIso(from, tz), endTime: formatIso(now + 60_000, tz) },
      });
      const res = await digestRequest(`${this.base}/ISAPI/AccessControl/AcsEvent?format=json`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
        username: this.term.username,
        password,
      });
      const buf = await readAll(res);
      if (res.statusCode !== 200) {
        this.searchUnavailable(res.statusCode);
        break;
      }
      let info: { more: boolean; count: number };
      try {
        info = parseAcsSearch(buf, this.term.id, this.term.timezone);
      } catch {
        info = { more: false, count: 0 };
      }
      const out = await this.ingest.submit({
        raw: {
          protocol: 'hikvision',
          terminal: this.term.id,
          channel: 'search',
          method: 'POST',
          path: '/ISAPI/AccessControl/AcsEvent',
          contentType: res.headers['content-type'],
          body: buf,
          receivedMs: this.ctx.now(),
        },
        parse: (b) => parseAcsSearch(b, this.term.id, this.term.timezone),
      });
      stored += out.stored.length;
      pos += info.count;
      if (!info.more || !info.count) break;
    }
    return stored;
  }
}
