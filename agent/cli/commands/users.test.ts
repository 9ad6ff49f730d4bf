import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../console/auth.js';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { ConsoleRepo } from '../../store/console.js';
import { Store } from '../../store/store.js';

const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
let tmp: string;
function run(args: string[], input?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, LANG: 'en_US.UTF-8' };
  delete env.CLASSROOM_AGENT_PASSWORD;
  const r = spawnSync(process.execPath, [CLI, '--state', tmp, ...args], { encoding: 'utf8', input, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-users-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('users CLI', () => {
  it('adds, lists, changes the password of and removes console users; the password never appears', async () => {
    expect(run(['users', 'add', '王老师', '--role', 'technician'], 'first-pass-1\n').code).toBe(0);
    const list = run(['users', 'list', '--json']);
    expect(JSON.parse(list.out)).toMatchObject([{ name: '王老师', role: 'technician' }]);
    expect(list.out).not.toContain('scrypt');
    expect(list.out).not.toContain('first-pass-1');
    expect(run(['users', 'passwd', '王老师'], 'second-pass-2\n').code).toBe(0);
    const store = new Store({ file: path.join(tmp, 'evidence.db'), readonly: true });
    const hash = new ConsoleRepo(store).user('王老师')!.password_hash;
    store.close();
    expect(await verifyPassword('second-pass-2', hash)).toBe(true);
    expect(run(['users', 'remove', '王老师']).code).toBe(0);
    expect(JSON.parse(run(['users', 'list', '--json']).out)).toEqual([]);
  });

  it('exits 2 naming the problem: unknown role, weak password, duplicate, bad name, unknown user', () => {
    const role = run(['users', 'add', 'a', '--role', 'admin'], 'good-pass-1\n');
    expect(role.code).toBe(2);
    expect(role.err).toContain('--role');
    const weak = run(['users', 'add', 'a', '--role', 'school'], '12345678\n');
    expect(weak.code).toBe(2);
    expect(weak.err).toContain('password');
    expect(run(['users', 'add', 'b', '--role', 'school'], 'good-pass-1\n').code).toBe(0);
    const dup = run(['users', 'add', 'b', '--role', 'inspector'], 'good-pass-1\n');
    expect(dup.code).toBe(2);
    expect(dup.err).toContain('exists');
    expect(run(['users', 'add', 'a b/c', '--role', 'school'], 'good-pass-1\n').code).toBe(2);
    expect(run(['users', 'remove', 'nobody']).code).toBe(2);
  });
});
