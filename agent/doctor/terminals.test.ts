import { afterEach, describe, expect, it } from 'vitest';
import { startCheckin } from '../checkin/harness.js';
import { formatIso } from '../core/time.js';
import { ZkDevice } from '../sim/terminals/zkteco.js';
import { terminalsCheck } from './terminals.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
const MIN = 60_000;

/** Terminal state written by the real check-in server from a simulated ZKTeco speaking its HTTP protocol. */
describe('doctor: terminals', () => {
  it('last event and heartbeat per terminal; never heard and long quiet warn with the server address fix; clock skew', async () => {
    const T0 = Date.parse('2026-10-04T08:00:00+08:00');
    let now = T0;
    const s = await startCheckin(
      {
        checkin: { quietMinutes: 15 },
        terminals: [
          { id: 'gate-1', protocol: 'zkteco', serial: 'ZK1' },
          { id: 'gate-2', protocol: 'zkteco', serial: 'ZK2' },
          { id: 'hik-1', protocol: 'hikvision', url: 'http://127.0.0.1:9/' },
          { id: 'old', protocol: 'webhook', enabled: false },
        ],
      },
      { now: () => now },
    );
    cleanups.push(() => s.stop());
    const dev = new ZkDevice(s.base, 'ZK1');
    cleanups.push(() => dev.close());
    await dev.handshake();
    // a punch stamped by a terminal clock 5 minutes ahead
    dev.punch(
      '1001',
      formatIso(now + 5 * MIN)
        .slice(0, 19)
        .replace('T', ' '),
    );
    await dev.sync();
    now = T0 + 3 * MIN;
    await dev.poll();

    const env = (at: number) => ({ cfg: s.ctx.cfg, paths: { state: s.dir, video: s.dir, database: s.db }, now: at });
    let r = await terminalsCheck.run(env(T0 + 4 * MIN));
    expect(r.detail).toMatch(/^gate-1: last event 4 min ago, last heartbeat 60 s ago, clock \+300 s \| gate-2: never heard from \| hik-1: never heard from \| 1 check-ins with implausible times$/); // stamped 5 min ahead: flagged
    expect(r.status).toBe('warn');
    expect(r.fix!.en).toContain("terminal gate-2 (zkteco, it pushes to this box): set the server address in the terminal's menu to this box's IP, port");
    expect(r.fix!.en).toContain('serial ZK2');
    expect(r.fix!.en).toContain('terminal hik-1 (hikvision, this box connects to it): check that terminals[2].url is reachable');
    expect(r.fix!.en).toContain('terminal gate-1 clock off by 300 s');
    expect(r.fix!.zh).toContain('终端 gate-2');

    // two hours later gate-1 is quiet too
    r = await terminalsCheck.run(env(T0 + 130 * MIN));
    expect(r.detail).toMatch(/gate-1: last event 2\.2 h ago, last heartbeat 2\.1 h ago, clock \+300 s, quiet for 2\.1 h \(> 15 min/);

    // no terminal configured: nothing to warn about
    const ok = await terminalsCheck.run({ ...env(T0 + 4 * MIN), cfg: { ...s.ctx.cfg, terminals: [] } });
    expect(ok).toMatchObject({ status: 'ok' });
  }, 30_000);
});
