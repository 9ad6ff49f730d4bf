import { afterEach, describe, expect, it } from 'vitest';
import { startCheckin } from './harness.js';
import { ZkDevice } from '../sim/terminals/zkteco.js';
import { WebhookClient } from '../sim/terminals/webhook.js';
import { ClassRepo } from '../store/classes.js';
import { AlarmRepo } from '../store/alarms.js';
import { CLOCK_ALARM } from './clock.js';
import { QUIET_ALARM } from './health.js';
import { formatIso } from '../core/time.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
const MIN = 60_000;

describe('terminal health', () => {
  it('quiet during a lesson raises terminal-quiet; contact clears it; silence outside lessons is fine; skew kept in the terminal state', async () => {
    const T0 = Date.parse('2026-10-04T08:00:00+08:00');
    let now = T0 - 30 * MIN;
    const s = await startCheckin({ checkin: { quietMinutes: 15 }, terminals: [{ id: 'gate-1', protocol: 'zkteco', serial: 'ZKH' }] }, { now: () => now });
    cleanups.push(() => s.stop());
    new ClassRepo(s.ctx.store).save(
      {
        id: 'C1',
        timezone: 'Asia/Shanghai',
        trainees: [{ id: 'S01', terminalIds: ['1001'] }],
        teachers: [],
        lessons: [{ id: 'L1', kind: 'theory', start: T0, end: T0 + 45 * MIN, cameras: [], makeUp: false }],
      },
      'henan-2025',
    );
    const raised: string[] = [];
    s.ctx.bus.on(raised, 'alarm.raised', (p) => void (p.kind === QUIET_ALARM && raised.push(p.subject)));
    const dev = new ZkDevice(s.base, 'ZKH');
    cleanups.push(() => dev.close());
    now = T0 + 5 * MIN;
    await dev.poll();
    // a punch whose terminal clock runs 2 minutes ahead of the box
    dev.punch(
      '1001',
      formatIso(now + 2 * MIN)
        .slice(0, 19)
        .replace('T', ' '),
    );
    await dev.handshake();
    await dev.sync();
    const h = s.server.health!;
    expect(h.check(T0 + 10 * MIN)).toEqual([]);
    expect(h.check(T0 + 25 * MIN)).toEqual(['gate-1']);
    expect(h.check(T0 + 26 * MIN)).toEqual(['gate-1']); // still one open alarm
    const alarms = new AlarmRepo(s.ctx.store);
    expect(
      alarms
        .open()
        .filter((a) => a.kind === QUIET_ALARM)
        .map((a) => [a.kind, a.subject]),
    ).toEqual([[QUIET_ALARM, 'gate-1']]);
    // its clock runs 2 min ahead (over the shared 60 s threshold): alarmed as well
    expect(alarms.open().some((a) => a.kind === CLOCK_ALARM && a.subject === 'gate-1')).toBe(true);
    expect(raised).toEqual(['gate-1']);
    now = T0 + 27 * MIN;
    await dev.poll();
    expect(h.check(now)).toEqual([]);
    expect(alarms.open().filter((a) => a.kind === QUIET_ALARM)).toEqual([]);
    // after the lesson: silence is normal
    expect(h.check(T0 + 120 * MIN)).toEqual([]);
    expect(alarms.open().filter((a) => a.kind === QUIET_ALARM)).toEqual([]);
    const st = s.ctx.store.db.prepare("SELECT skew_ms, last_event_ms FROM terminal_state WHERE terminal='gate-1'").get() as { skew_ms: number; last_event_ms: number };
    expect(st.skew_ms).toBe(2 * MIN);
    expect(st.last_event_ms).toBe(T0 + 5 * MIN);
    expect(s.ctx.store.db.prepare('SELECT trainee FROM checkins').pluck().get()).toBe('S01');
  });

  it('checkin.stored is emitted once per new check-in, not for duplicates', async () => {
    const s = await startCheckin({ checkin: { token: 't' } });
    cleanups.push(() => s.stop());
    const got: number[] = [];
    s.ctx.bus.on(got, 'checkin.stored', (p) => got.push(p.id));
    const c = new WebhookClient(s.base, { token: 't' });
    cleanups.push(() => c.close());
    const item = { id: 'x', terminal: 'd', person: 'P', at: '2026-10-04T08:30:00+08:00' };
    await c.send(item);
    await c.send(item);
    expect(got).toHaveLength(1);
  });
});

describe('terminal demo driver', () => {
  it('punches through ZKTeco and the webhook against a running server', async () => {
    const { runTerminalDemo } = await import('../sim/terminals/demo.js');
    const s = await startCheckin({ checkin: { token: 'demo' }, terminals: [{ id: 'gate-1', protocol: 'zkteco', serial: 'DEMO1' }] });
    cleanups.push(() => s.stop());
    const d = runTerminalDemo({ base: s.base, zkSerial: 'DEMO1', token: 'demo', people: ['1001', '1002', '1003'], everyMs: 20 });
    cleanups.push(() => d.stop());
    const end = Date.now() + 10_000;
    while (d.sent() < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(d.sent()).toBeGreaterThanOrEqual(4);
    expect(s.ctx.store.db.prepare('SELECT COUNT(DISTINCT terminal) FROM checkins').pluck().get()).toBe(2);
  });
});
