import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { ensureBuilt } from '../../checkin/testutil.js';
import { startCheckin } from '../../checkin/harness.js';
import { ZkDevice } from '../../sim/terminals/zkteco.js';
import { request } from '../../sim/terminals/httpc.js';
import { formatIso } from '../../core/time.js';

const CLI = path.join(PACKAGE_ROOT, 'dist/agent/cli/main.js');
const run = (state: string, ...args: string[]) => spawnSync(process.execPath, [CLI, '--state', state, '--lang', 'en', ...args], { encoding: 'utf8' });

beforeAll(() => ensureBuilt(), 180_000);

describe('classroom-agent checkins', () => {
  it('list, unknown (exit 1 with problems), raw, terminals, remap', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-cli-checkins-'));
    const s = await startCheckin({ terminals: [{ id: 'gate-1', protocol: 'zkteco', serial: 'CLI1' }] }, { dir });
    const dev = new ZkDevice(s.base, 'CLI1');
    await dev.post('1001\t2026-10-04 08:30:00\t0\t15\t0\t0\nnot a row\n');
    dev.close();
    await s.stop();
    const list = run(dir, 'checkins', 'list', '--json');
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject([{ person: '1001', terminal: 'gate-1', at: '2026-10-04T08:30:00+08:00', trainee: null }]);
    const unknown = run(dir, 'checkins', 'unknown');
    expect(unknown.status).toBe(1);
    expect(unknown.stdout).toMatch(/people on no roster: 1/);
    expect(unknown.stdout).toMatch(/line 2: time is not/);
    expect(run(dir, 'checkins', 'raw', '1').stdout).toBe('1001\t2026-10-04 08:30:00\t0\t15\t0\t0\nnot a row\n');
    expect(run(dir, 'checkins', 'raw', '99').status).toBe(2);
    expect(JSON.parse(run(dir, 'checkins', 'terminals', '--json').stdout)[0]).toMatchObject({ terminal: 'gate-1', protocol: 'zkteco' });
    expect(run(dir, 'checkins', 'remap').stdout).toMatch(/Matched 0/);
  });

  it('unknown shows an unapproved serial, a terminal 8 hours off, a punch dated 2000 and an unknown event code, each with its fix; approve and reparse', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-cli-checkins-'));
    const s = await startCheckin(
      {
        checkin: { token: 'tk' },
        terminals: [
          { id: 'gate-1', protocol: 'zkteco', serial: 'CLI1' },
          { id: 'hik-1', protocol: 'hikvision' },
        ],
      },
      { dir },
    );
    await request(`${s.base}/iclock/cdata?SN=ROGUE7&options=all&pushver=2.4.1`);
    await request(`${s.base}/iclock/cdata?SN=CLI1&table=ATTLOG&Stamp=1`, { body: '1001\t2000-01-01 00:00:05\t0\t15\t0\t0\r\n' });
    const ev = (minor: number, at: number, serial: number) =>
      JSON.stringify({
        dateTime: formatIso(at, 'Asia/Shanghai'),
        eventType: 'AccessControllerEvent',
        AccessControllerEvent: { majorEventType: 5, subEventType: minor, employeeNoString: '2001', name: '张三', currentVerifyMode: 'face', serialNo: serial },
      });
    const now = Math.floor(Date.now() / 1000) * 1000;
    await request(`${s.base}/hikvision/hik-1?token=tk`, { body: ev(0xfd, now, 1), headers: { 'content-type': 'application/json' } });
    await request(`${s.base}/hikvision/hik-1?token=tk`, { body: ev(0x4b, now - 8 * 3600_000, 2), headers: { 'content-type': 'application/json' } });
    await s.stop();
    const u = run(dir, 'checkins', 'unknown');
    expect(u.status).toBe(1);
    expect(u.stdout).toMatch(/ROGUE7[\s\S]*approve: classroom-agent checkins approve ROGUE7/);
    expect(u.stdout).toMatch(/hik-1\t-8\.0 h \(whole hours: wrong time zone\?\)[\s\S]*Fix: set the terminal's time zone/);
    expect(u.stdout).toMatch(/2000-01-01 00:00\tgate-1\t1001\tover a year before it was received[\s\S]*Fix: set the terminal's time and turn on NTP/);
    expect(u.stdout).toMatch(/hik-1\tunknown-code\t5\/253\t2001 张三[\s\S]*Fix: unknown codes never count/);
    expect(u.stdout).toMatch(/terminal id 2001\tname on the terminal 张三/);
    const term = JSON.parse(run(dir, 'checkins', 'terminals', '--json').stdout) as { serial?: string; approve?: string }[];
    expect(term.find((x) => x.serial === 'ROGUE7')?.approve).toBe('classroom-agent checkins approve ROGUE7');
    expect(run(dir, 'checkins', 'approve', 'ROGUE7').stdout).toMatch(/Approved: serial ROGUE7 as terminal zk-ROGUE7/);
    expect(run(dir, 'checkins', 'approve', 'bad serial!').status).toBe(2);
    expect(JSON.parse(run(dir, 'checkins', 'terminals', '--json').stdout).some((x: { terminal: string; approvedSerial: string }) => x.terminal === 'zk-ROGUE7' && x.approvedSerial === 'ROGUE7')).toBe(
      true,
    );
    const rep = run(dir, 'checkins', 'reparse', '--json');
    expect(rep.status).toBe(0);
    expect(run(dir, 'checkins', 'reparse', '999').status).toBe(2);
  }, 120_000);
});
