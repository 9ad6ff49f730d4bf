import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../agent/core/paths.js';

/** scripts/face-key.sh, as install.sh runs it: the face key apart from the state folder, moved once. */
const SCRIPT = path.join(PACKAGE_ROOT, 'scripts', 'face-key.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function box() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-fkey-'));
  dirs.push(dir);
  const etc = path.join(dir, 'etc');
  const state = path.join(dir, 'state');
  fs.mkdirSync(etc);
  fs.mkdirSync(state);
  const run = () => spawnSync('bash', [SCRIPT, etc, state], { encoding: 'utf8' });
  return { etc, state, run, key: path.join(etc, 'vision.key'), old: path.join(state, 'vision.key') };
}

describe('face-key.sh', () => {
  it('moves a key left in the state folder once, byte for byte, 0600 (root-owned when run as root), and leaves it on a second run', () => {
    const b = box();
    const bytes = crypto.randomBytes(32);
    fs.writeFileSync(b.old, bytes, { mode: 0o600 });
    const r = b.run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('moving');
    expect(fs.readFileSync(b.key)).toEqual(bytes);
    expect(fs.existsSync(b.old)).toBe(false);
    const st = fs.statSync(b.key);
    expect(st.mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) expect(st.uid).toBe(0);
    const again = b.run();
    expect(again.status, again.stderr).toBe(0);
    expect(fs.readFileSync(b.key)).toEqual(bytes);
  });

  it('creates a 32-byte key when there is none; removes a state copy with the same bytes', () => {
    const b = box();
    expect(b.run().status).toBe(0);
    const made = fs.readFileSync(b.key);
    expect(made.length).toBe(32);
    fs.writeFileSync(b.old, made, { mode: 0o600 });
    expect(b.run().status).toBe(0);
    expect(fs.existsSync(b.old)).toBe(false);
    expect(fs.readFileSync(b.key)).toEqual(made);
  });

  it('two different keys: stops, names both, removes neither', () => {
    const b = box();
    fs.writeFileSync(b.key, crypto.randomBytes(32), { mode: 0o600 });
    fs.writeFileSync(b.old, crypto.randomBytes(32), { mode: 0o600 });
    const r = b.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('two different face keys');
    expect(r.stderr).toContain(b.old);
    expect(fs.existsSync(b.old) && fs.existsSync(b.key)).toBe(true);
  });

  it('a key of the wrong size is refused, not replaced', () => {
    const b = box();
    fs.writeFileSync(b.key, 'short', { mode: 0o600 });
    const r = b.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('32');
    expect(fs.readFileSync(b.key, 'utf8')).toBe('short');
  });
});
