import { afterEach, describe, expect, it } from 'vitest';
import { startCheckin } from '../harness.js';
import { ZkDevice } from '../../sim/terminals/zkteco.js';
import { request } from '../../sim/terminals/httpc.js';
import { ClassRepo } from '../../store/classes.js';
import { parseAttlog, zkLocalTime } from './attlog.js';

const cfg = { terminals: [{ id: 'gate-1', protocol: 'zkteco', serial: 'ZK0001', timezone: 'Asia/Shanghai' }] };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(extra: { port?: number; dir?: string } = {}) {
  const s = await startCheckin(cfg, extra);
  cleanups.push(() => s.stop());
  return s;
}

const count = (s: Awaited<ReturnType<typeof setup>>, sql: string) => s.ctx.store.db.prepare(sql).pluck().get() as number;
const t = (i: number) => `2026-10-04 08:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;

describe('ZKTeco ATTLOG parsing', () => {
  it('reads local time in the terminal zone, rejects bad lines, keeps good ones', () => {
    const p = parseAttlog(Buffer.from('1001\t2026-10-04 08:30:00\t0\t15\t0\t0\r\nbad line\n1002 2026-10-04 08:31:00 0 1\n1003\t2026-02-30 08:00:00\t0\t15\n\0'), 'gate-1', 'SN', 'Asia/Shanghai', '7');
    expect(p.checkins.map((c) => c.person)).toEqual(['1001', '1002']);
    expect(p.checkins[0].at).toBe(Date.parse('2026-10-04T08:30:00+08:00'));
    expect(p.checkins[0].tzOffsetMin).toBe(480);
    expect(p.checkins[0].dedupKey).toBe('zk:SN:1001:2026-10-04 08:30:00');
    expect(p.rejects.map((r) => r.where)).toEqual(['line 2', 'line 4']);
    expect(p.cursor).toBe('7');
    expect(zkLocalTime('2026-10-04 08:30:00', 'Europe/London')).toBe(Date.parse('2026-10-04T08:30:00+01:00'));
  });
});

describe('ZKTeco PUSH against the simulated terminal', () => {
  it('handshake, upload, duplicates, poll; OK: n; raw kept; roster mapping; unknown person kept', async () => {
    const s = await setup();
    new ClassRepo(s.ctx.store).save({ id: 'C1', trainees: [{ id: 'S01', terminalIds: ['1001'] }], teachers: [], lessons: [] } as never, 'henan-2025');
    const dev = new ZkDevice(s.base, 'ZK0001');
    cleanups.push(() => dev.close());
    const hs = await dev.handshake();
    expect(hs).toMatch(/^GET OPTION FROM: ZK0001\nATTLOGStamp=None/);
    dev.punch('1001', '2026-10-04 08:30:00');
    dev.punch('9999', '2026-10-04 08:30:05');
    expect(await dev.sync()).toEqual({ sent: 2, acked: 2 });
    // the same rows again (a terminal retransmitting): OK counts lines, nothing doubles
    const again = await dev.post(dev.rows(dev.punches), 2);
    expect(again.body).toBe('OK: 2');
    expect(await dev.poll()).toBe('OK');
    expect(count(s, 'SELECT COUNT(*) FROM checkins')).toBe(2);
    expect(count(s, "SELECT COUNT(*) FROM checkins WHERE trainee = 'S01' AND class_id = 'C1'")).toBe(1);
    expect(count(s, 'SELECT COUNT(*) FROM checkins WHERE trainee IS NULL')).toBe(1);
    expect(count(s, "SELECT COUNT(*) FROM outbox WHERE type = 'checkin'")).toBe(2);
    expect(count(s, 'SELECT COUNT(*) FROM raw_inputs')).toBe(2);
    expect(count(s, 'SELECT SUM(duplicates) FROM raw_inputs')).toBe(2);
    // the handshake now hands back our cursor: a terminal resends only what we lack
    expect(await dev.handshake()).toMatch(/ATTLOGStamp=2\n/);
    // the unknown person is added to the roster later: remap links the kept check-in
    new ClassRepo(s.ctx.store).save(
      {
        id: 'C1',
        trainees: [
          { id: 'S01', terminalIds: ['1001'] },
          { id: 'S02', terminalIds: ['9999'] },
        ],
        teachers: [],
        lessons: [],
      } as never,
      'henan-2025',
    );
    expect(s.server.intake!.repo.remapUnknown()).toBe(1);
    expect(count(s, "SELECT COUNT(*) FROM checkins_current WHERE trainee = 'S02'")).toBe(1);
    expect(count(s, "SELECT COUNT(*) FROM outbox WHERE type = 'checkin'")).toBe(3);
    const st = s.ctx.store.db.prepare("SELECT * FROM terminal_state WHERE terminal='gate-1'").get() as { last_heartbeat_ms: number; last_event_ms: number };
    expect(st.last_heartbeat_ms).toBeGreaterThan(0);
    expect(st.last_event_ms).toBeGreaterThan(0);
  });

  it('refuses an unknown serial with 401 and stores nothing from it', async () => {
    const s = await setup();
    const dev = new ZkDevice(s.base, 'EVIL');
    cleanups.push(() => dev.close());
    const r = await dev.post('1001\t2026-10-04 08:30:00\t0\t15\n');
    expect(r.status).toBe(401);
    expect(count(s, 'SELECT COUNT(*) FROM checkins')).toBe(0);
  });

  it('split bodies, LF, trailing NUL, garbage lines: every good row once, garbage kept raw', async () => {
    const s = await setup();
    const dev = new ZkDevice(s.base, 'ZK0001', { chunks: 7, lineEnd: '\n', trailingNul: true, batch: 13 });
    cleanups.push(() => dev.close());
    await dev.handshake();
    for (let i = 0; i < 40; i++) dev.punch(String(1000 + i), t(i));
    expect((await dev.sync()).acked).toBe(40);
    const r = await dev.post('1001\tnot a time\t0\n\x01\x02garbage\n1050\t2026-10-04 09:00:00\t0\t15\n', 41);
    expect(r.body).toBe('OK: 3');
    expect(count(s, 'SELECT COUNT(*) FROM checkins')).toBe(41);
    expect(count(s, "SELECT COUNT(*) FROM raw_inputs WHERE status = 'partial'")).toBe(1);
    // pure garbage: not acknowledged (the terminal keeps the rows and retries), raw kept as unparsable
    const g = await dev.post(Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a]), 42);
    expect(g.status).toBe(400);
    expect(count(s, "SELECT COUNT(*) FROM raw_inputs WHERE status = 'unparsable'")).toBe(1);
    // other tables: OPERLOG accepted and kept; photos never kept
    expect((await dev.post('OPLOG 4\t0\t2026-10-04 08:00:00\t0\t0\t0\t0\n', undefined, 'OPERLOG')).body).toBe('OK');
    await dev.post(Buffer.alloc(5000, 0xd8), undefined, 'ATTPHOTO');
    const photo = s.ctx.store.db.prepare("SELECT body, body_bytes FROM raw_inputs WHERE path LIKE '%ATTPHOTO%'").get() as { body: Buffer; body_bytes: number };
    expect(photo.body_bytes).toBe(5000);
    expect(photo.body.toString()).toMatch(/picture not kept/);
  });

  it('outage: the agent goes down, the terminal keeps punching, then catches up without loss or duplicates', async () => {
    const s1 = await setup();
    const port = s1.port;
    const dev = new ZkDevice(s1.base, 'ZK0001', { batch: 10 });
    cleanups.push(() => dev.close());
    await dev.handshake();
    for (let i = 0; i < 25; i++) dev.punch(String(2000 + i), t(i));
    await dev.sync();
    await s1.stop();
    // agent down: punches accumulate, uploads fail
    for (let i = 25; i < 60; i++) dev.punch(String(2000 + i), t(i));
    await expect(dev.sync()).rejects.toThrow();
    // agent back on the same port and database; the terminal forgot its cursor (reboot)
    const s2 = await startCheckin(cfg, { dir: s1.dir, port });
    cleanups.push(() => s2.stop());
    dev.cursor = 0;
    const hs = await dev.handshake();
    expect(hs).toMatch(/ATTLOGStamp=25\n/);
    const r = await dev.sync();
    expect(r).toEqual({ sent: 35, acked: 35 });
    expect(s2.ctx.store.db.prepare('SELECT COUNT(*) FROM checkins').pluck().get()).toBe(60);
    expect(s2.ctx.store.db.prepare('SELECT COUNT(DISTINCT person) FROM checkins').pluck().get()).toBe(60);
    // the terminal device itself offline then back: nothing lost either
    dev.online = false;
    for (let i = 60; i < 70; i++) dev.punch(String(2000 + i), t(i));
    expect((await dev.sync()).sent).toBe(0);
    dev.online = true;
    await dev.handshake();
    expect((await dev.sync()).acked).toBe(10);
    expect(s2.ctx.store.db.prepare('SELECT COUNT(*) FROM checkins').pluck().get()).toBe(70);
  });

  it('bodies over the limit are answered 413 and kept truncated', async () => {
    const s = await startCheckin({ ...cfg, checkin: { maxBodyBytes: 1000 } });
    cleanups.push(() => s.stop());
    const r = await request(`${s.base}/iclock/cdata?SN=ZK0001&table=ATTLOG`, { body: 'x'.repeat(5000) });
    expect(r.status).toBe(413); // answered, not reset: the rest of the body is drained
    const raw = s.ctx.store.db.prepare('SELECT body_bytes, truncated, length(body) AS kept FROM raw_inputs').get() as { truncated: number; kept: number };
    expect(raw.truncated).toBe(1);
    expect(raw.kept).toBe(1000);
  });
});
