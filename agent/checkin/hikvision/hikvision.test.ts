import { afterEach, describe, expect, it } from 'vitest';
import { startCheckin } from '../harness.js';
import { HikDevice } from '../../sim/terminals/hikvision.js';
import { request } from '../../sim/terminals/httpc.js';
import { until } from '../testutil.js';
import type { HikvisionStreams } from './client.js';
import { parseHikEvent } from './event.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(devOpts: ConstructorParameters<typeof HikDevice>[0] = {}, withStream = true) {
  const dev = new HikDevice({ username: 'admin', password: 'pw-123', heartbeatMs: 100, ...devOpts });
  const devUrl = await dev.listen();
  cleanups.push(() => dev.close());
  const s = await startCheckin({
    checkin: { token: 'tok', streamHeartbeatTimeoutMs: 600, reconnectMinMs: 50, reconnectMaxMs: 200 },
    terminals: [{ id: 'hik-1', protocol: 'hikvision', ...(withStream ? { url: devUrl } : {}), username: 'admin', password: 'pw-123' }],
  });
  cleanups.push(() => s.stop());
  const n = (sql: string) => s.ctx.store.db.prepare(sql).pluck().get() as number;
  const hs = s.server.stream<HikvisionStreams>('hik-1');
  return { dev, s, n, hs };
}

describe('Hikvision event parsing', () => {
  it('person events become check-ins with offset time; others are ignored; garbage throws', () => {
    const dev = new HikDevice();
    const e = dev.punch('1001', Date.parse('2026-10-04T08:30:00+08:00'));
    const p = parseHikEvent(Buffer.from(dev.eventJson(e)), 'hik-1');
    expect(p.checkins[0]).toMatchObject({
      person: '1001',
      at: Date.parse('2026-10-04T00:30:00Z'),
      tzOffsetMin: 480,
      dedupKey: `hik:hik-1:1001:${Date.parse('2026-10-04T00:30:00Z') / 1000}`,
      counter: String(e.serialNo),
      verifyMode: 'cardOrFace',
    });
    expect(parseHikEvent(Buffer.from(dev.eventJson({ ...e, verifyMode: 'invalid' })), 'hik-1').checkins).toEqual([]);
    expect(parseHikEvent(Buffer.from('<EventNotificationAlert><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert>'), 'x').heartbeat).toBe(true);
    expect(() => parseHikEvent(Buffer.from('{"eventType":'), 'x')).toThrow(/not JSON/);
  });
});

describe('Hikvision HTTP host push', () => {
  it('JSON and multipart (event_log + picture): stored once, picture not kept, token required', async () => {
    const { dev, s, n } = await setup({}, false);
    const url = `${s.base}/hikvision/hik-1`;
    const e1 = dev.punch('1001');
    const e2 = dev.punch('1002');
    expect((await dev.push(url, e1, { basic: 'tok' })).status).toBe(200);
    expect((await dev.push(`${url}?token=tok`, e2, { multipart: true, chunks: 5 })).status).toBe(200);
    expect((await dev.push(url, e2, { multipart: true, basic: 'tok' })).status).toBe(200); // retransmission
    expect((await dev.push(url, e1)).status).toBe(401);
    expect((await dev.push(`${s.base}/hikvision/nope?token=tok`, e1)).status).toBe(401); // unknown terminal: the same answer as a wrong token
    expect(n('SELECT COUNT(*) FROM checkins')).toBe(2);
    const raw = s.ctx.store.db.prepare("SELECT body FROM raw_inputs WHERE content_type LIKE 'multipart%' LIMIT 1").pluck().get() as Buffer;
    expect(raw.toString()).toMatch(/\[picture 2006 bytes not kept\]/);
    expect(raw.includes(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe(false);
    // garbage push: never acknowledged as success (the device keeps it and retries), kept as unparsable
    const g = await request(`${url}?token=tok`, { body: '\x00{{{not json', headers: { 'content-type': 'application/json' } });
    expect(g.status).toBe(400);
    expect(n("SELECT COUNT(*) FROM raw_inputs WHERE status='unparsable'")).toBe(1);
  });
});

describe('Hikvision alertStream client', () => {
  it('split and merged parts, heartbeats, garbage, truncated part: every event once', async () => {
    const { dev, s, n, hs } = await setup({ splitMax: 9 });
    await until(() => dev.streamCount() === 1 && hs!.catchUps === 1, 'stream connected');
    for (let i = 0; i < 30; i++) dev.punch(String(2000 + i));
    // two parts in one write, garbage between parts, a truncated part
    const a = dev.punch('3000');
    const b = dev.punch('3001');
    dev.events.splice(-2); // (re-sent below by hand, merged)
    dev.events.push(a, b);
    dev.sendRaw(Buffer.concat([dev.part('application/json', dev.eventJson(a)), Buffer.from('\r\n\x00garbage\r\n'), dev.part('application/json', dev.eventJson(b))]));
    dev.sendRaw('--boundary\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{"eventType":"AccessCon');
    dev.punch('3002');
    // a picture part after an event (some firmware): size kept, picture not
    dev.sendRaw(dev.part('image/jpeg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(3000, 1)])));
    await until(() => n('SELECT COUNT(*) FROM checkins') === 33, '33 check-ins');
    await until(() => n("SELECT COUNT(*) FROM raw_inputs WHERE content_type = 'image/jpeg' AND status = 'ignored' AND body_bytes = 3003 AND length(body) < 100") === 1, 'picture part noted, not kept');
    expect(n('SELECT COUNT(DISTINCT dedup_key) FROM checkins')).toBe(33);
    expect(n("SELECT COUNT(*) FROM raw_inputs WHERE status='unparsable' AND channel='stream'")).toBe(1);
    await until(() => (s.ctx.store.db.prepare("SELECT last_heartbeat_ms FROM terminal_state WHERE terminal='hik-1'").pluck().get() as number | null) !== null, 'heartbeat recorded');
  });

  it('outage: device offline while people pass; on return the stream reconnects and AcsEvent catch-up fills the gap, no duplicates', async () => {
    const { dev, n, hs } = await setup();
    await until(() => dev.streamCount() === 1 && hs!.catchUps === 1, 'stream connected');
    for (let i = 0; i < 5; i++) dev.punch(String(4000 + i));
    await until(() => n('SELECT COUNT(*) FROM checkins') === 5, 'first 5');
    dev.goOffline();
    for (let i = 5; i < 80; i++) dev.punch(String(4000 + i)); // logged on the device only
    await new Promise((r) => setTimeout(r, 300));
    dev.comeBack();
    await until(() => hs!.catchUps >= 2, 'catch-up after reconnect');
    await hs!.settled();
    dev.punch('4999');
    await until(() => n('SELECT COUNT(*) FROM checkins') === 81, '81 check-ins');
    expect(n('SELECT COUNT(DISTINCT dedup_key) FROM checkins')).toBe(81);
    expect(n("SELECT COUNT(*) FROM raw_inputs WHERE channel='search'")).toBeGreaterThanOrEqual(3); // 75 events / 30 per page
  });

  it('stale session (connection open, nothing sent): the watchdog reconnects and catches up', async () => {
    const { dev, n, hs } = await setup({ heartbeatMs: 0 });
    await until(() => dev.streamCount() === 1 && hs!.catchUps === 1, 'stream connected');
    dev.stale = true;
    for (let i = 0; i < 4; i++) dev.punch(String(5000 + i));
    await until(() => hs!.connects >= 2, 'reconnect after silence', 5000);
    dev.stale = false;
    await until(() => n('SELECT COUNT(*) FROM checkins') === 4, 'missed events caught up');
  });

  it('a terminal without AcsEvent search still streams', async () => {
    const { dev, n, hs } = await setup({ search: false });
    await until(() => dev.streamCount() === 1 && hs!.catchUps === 1, 'stream connected');
    dev.punch('6000');
    await until(() => n('SELECT COUNT(*) FROM checkins') === 1, 'streamed event');
  });
});
