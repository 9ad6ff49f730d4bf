import { afterEach, describe, expect, it } from 'vitest';
import { startCheckin } from '../harness.js';
import { DahuaDevice } from '../../sim/terminals/dahua.js';
import { until } from '../testutil.js';
import type { DahuaStreams } from './client.js';
import { parseDahuaPart, parseRecordFinder } from './event.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(devOpts: ConstructorParameters<typeof DahuaDevice>[0] = {}) {
  const dev = new DahuaDevice({ username: 'admin', password: 'dh-pw', heartbeatMs: 100, ...devOpts });
  const devUrl = await dev.listen();
  cleanups.push(() => dev.close());
  const s = await startCheckin({
    checkin: { streamHeartbeatTimeoutMs: 600, reconnectMinMs: 50, reconnectMaxMs: 200 },
    terminals: [{ id: 'dh-1', protocol: 'dahua', url: devUrl, username: 'admin', password: 'dh-pw' }],
  });
  cleanups.push(() => s.stop());
  const n = (sql: string) => s.ctx.store.db.prepare(sql).pluck().get() as number;
  return { dev, s, n, ds: s.server.stream<DahuaStreams>('dh-1')! };
}

describe('Dahua parsing', () => {
  it('AccessControl parts, pretty data, several events in one part, refusals, heartbeat, garbage', () => {
    const dev = new DahuaDevice();
    const a = dev.punch('1001', Date.parse('2026-10-04T00:30:00Z'));
    const b = dev.punch('1002', Date.parse('2026-10-04T00:31:00Z'));
    const p = parseDahuaPart(Buffer.from(`${dev.partBody(a)}\r\n${dev.partBody(b, true)}`), 'dh-1', 'Asia/Shanghai', 0);
    expect(p.checkins.map((c) => [c.person, c.at, c.dedupKey, c.tzOffsetMin, c.similarity])).toEqual([
      ['1001', Date.parse('2026-10-04T00:30:00Z'), `dahua:dh-1:1001:${a.UTC}`, 480, 97],
      ['1002', Date.parse('2026-10-04T00:31:00Z'), `dahua:dh-1:1002:${b.UTC}`, 480, 97],
    ]);
    const refused = parseDahuaPart(Buffer.from(dev.partBody({ ...a, Status: 0 })), 'dh-1', 'Asia/Shanghai', 0);
    expect(refused.checkins).toEqual([]);
    expect(refused.events?.[0]).toMatchObject({ kind: 'not-a-pass', code: 'AccessControl/0', person: '1001' });
    expect(parseDahuaPart(Buffer.from('Heartbeat'), 'dh-1', 'Asia/Shanghai', 0).heartbeat).toBe(true);
    expect(
      parseDahuaPart(Buffer.from('Code=_DoorFace_;action=Pulse;index=0;data={"Alive":100,"Door":0,"Similarity":98,"UserID":"1","readID":1}'), 'dh-1', 'Asia/Shanghai', 1_700_000_000_500).checkins[0],
    ).toMatchObject({ person: '1', at: 1_700_000_000_000, similarity: 98 });
    expect(() => parseDahuaPart(Buffer.from('\x00\x01garbage'), 'dh-1', 'Asia/Shanghai', 0)).toThrow();
    expect(parseDahuaPart(Buffer.from('Code=AccessControl;action=Pulse;index=0;data={"UserID":"1","RecN'), 'dh-1', 'Asia/Shanghai', 0).rejects).toHaveLength(1);
    expect(
      parseRecordFinder(Buffer.from('found=1\r\nrecords[0].RecNo=7\r\nrecords[0].CreateTime=1700000000\r\nrecords[0].UserID=0042\r\nrecords[0].Status=1\r\n'), 'dh-1', 'UTC', 0).checkins[0],
    ).toMatchObject({ person: '0042', dedupKey: 'dahua:dh-1:0042:1700000000', counter: '7' });
  });
});

describe('Dahua attach stream against the simulated terminal', () => {
  it('split parts, heartbeat parts and bare Heartbeat lines, a truncated part: every pass once', async () => {
    const { dev, n, s, ds } = await setup({ splitMax: 11 });
    await until(() => dev.streamCount() === 1 && ds.catchUps === 1, 'attached');
    expect([...dev.hits.keys()]).toContain('/cgi-bin/eventManager.cgi');
    for (let i = 0; i < 20; i++) dev.punch(String(100 + i), Date.now(), { pretty: i % 3 === 0 });
    dev.bareHeartbeat = true;
    dev.sendRaw('--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 400\r\n\r\nCode=AccessControl;action=Pulse;index=0;data={"UserID":"9');
    const last = dev.punch('200');
    dev.sendRaw(Buffer.concat([dev.part('text/plain', dev.partBody(last)), dev.part('text/plain', dev.partBody(dev.punch('201')))]));
    await until(() => n('SELECT COUNT(*) FROM checkins') === 22, '22 check-ins');
    expect(n('SELECT COUNT(DISTINCT dedup_key) FROM checkins')).toBe(22);
    expect(n("SELECT COUNT(*) FROM raw_inputs WHERE status='unparsable' AND channel='stream'")).toBe(1);
    await until(() => (s.ctx.store.db.prepare("SELECT last_heartbeat_ms FROM terminal_state WHERE terminal='dh-1'").pluck().get() as number | null) !== null, 'heartbeat');
  });

  it('outage and stale session: reconnect with backoff, recordFinder catch-up, no loss or duplicates', async () => {
    const { dev, n, ds } = await setup();
    await until(() => dev.streamCount() === 1 && ds.catchUps === 1, 'attached');
    for (let i = 0; i < 5; i++) dev.punch(String(300 + i));
    await until(() => n('SELECT COUNT(*) FROM checkins') === 5, 'first 5');
    dev.goOffline();
    for (let i = 5; i < 250; i++) dev.punch(String(300 + i));
    await new Promise((r) => setTimeout(r, 300));
    dev.comeBack();
    await until(() => ds.catchUps >= 2, 'catch-up after reconnect');
    await ds.settled();
    expect(n('SELECT COUNT(*) FROM checkins')).toBe(250);
    // stale: connection stays open, nothing (not even heartbeats) arrives
    dev.stale = true;
    const before = ds.connects;
    for (let i = 250; i < 260; i++) dev.punch(String(300 + i));
    await until(() => ds.connects > before, 'watchdog reconnect', 5000);
    dev.stale = false;
    await until(() => n('SELECT COUNT(*) FROM checkins') === 260, 'all 260');
    expect(n('SELECT COUNT(DISTINCT dedup_key) FROM checkins')).toBe(260);
  });
});
