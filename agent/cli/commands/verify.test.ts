import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { fillBox, makeBox } from '../../evidence/fixture.js';

// spawns dist/: run `npx tsc -p tsconfig.json` first
const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-verify-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = (state: string, args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, '--state', state, '--lang', 'en', 'verify', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('classroom-agent verify on a box', () => {
  // the default config's box id is box-demo: its log is classroom-agent/box-demo
  const f = makeBox(path.join(tmp, 'state'), 'classroom-agent/box-demo');
  fillBox(f);

  it('a clean box: exit 0 and what it checked', () => {
    const r = run(f.dir, []);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/segment files 4/); // the fixture's 3 segments and its cut file (recording_cuts are hashed too)
    expect(r.out).toMatch(/everything verifies/);
  });

  it('a wrong or malformed key: exit 1 (signatures fail) and 2 (unusable)', () => {
    expect(run(f.dir, ['--key', 'not a key']).code).toBe(2);
    const other = makeBox(path.join(tmp, 'other'), 'classroom-agent/box-demo');
    const r = run(f.dir, ['--key', path.join(other.keys, 'log.pub')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/not signed by the box key/);
  });

  it('a deleted video file: exit 1 naming it', () => {
    fs.rmSync(path.join(f.video, 'cam1-2.mp4'));
    const r = run(f.dir, []);
    expect(r.code).toBe(1);
    expect(r.out).toContain('cam1-2.mp4');
  });
});
