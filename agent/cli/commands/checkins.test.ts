import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { ensureBuilt } from '../../checkin/testutil.js';
import { startCheckin } from '../../checkin/harness.js';
import { ZkDevice } from '../../sim/terminals/zkteco.js';

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
});
