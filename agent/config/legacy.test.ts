import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { InputIssue } from '../core/errors.js';
import { InputError } from '../core/errors.js';
import { PACKAGE_ROOT, PROFILES_DIR } from '../core/paths.js';
import { CONFIG_ALIASES, PROFILE_ALIASES } from './legacy.js';
import { loadConfig } from './load.js';
import { loadProfile, profileWarnings } from './profile.js';

const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-legacy-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[], lang: string) => {
  const r = spawnSync(process.execPath, [CLI, '--lang', lang, ...args], { encoding: 'utf8', env: { ...process.env, CLASSROOM_AGENT_CONFIG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

// the old names come from the alias table, the one place they may be spelled (spelling.test.ts)
const [facePx, sharpness, photos] = CONFIG_ALIASES.map((a) => a.old[1]);

/** A config file written before the rename: every old vision key, nothing else wrong. */
function oldFile(extra = ''): string {
  const f = path.join(tmp, `old-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(f, `box: { id: box-1 }\npaths: { state: ${path.join(tmp, 'state')} }\nvision:\n  ${facePx}: 96\n  ${sharpness}: 12\n  ${photos}: 3\n${extra}`);
  return f;
}

describe('old key names (one-l spelling → enroll)', () => {
  it('still load, into the new keys, each with a warning naming the old key and the new one', () => {
    const warnings: InputIssue[] = [];
    const cfg = loadConfig(oldFile(), { warnings });
    expect(cfg.vision.enrollMinFacePx).toBe(96);
    expect(cfg.vision.enrollMinSharpness).toBe(12);
    expect(cfg.vision.enrollMinPhotos).toBe(3);
    expect(warnings.map((w) => [w.path, w.line])).toEqual([
      [`vision.${facePx}`, 4],
      [`vision.${sharpness}`, 5],
      [`vision.${photos}`, 6],
    ]);
    expect(warnings[0].message).toContain('vision.enrollMinFacePx');
  });

  it('both names written is an error (which one wins would be a guess)', () => {
    const f = oldFile('  enrollMinPhotos: 2\n');
    let err: unknown;
    try {
      loadConfig(f, { warnings: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues.map((i) => i.path)).toEqual([`vision.${photos}`]);
  });

  it('config check warns in zh and en and exits 0 when nothing else is wrong', () => {
    const f = oldFile();
    const en = cli(['--config', f, 'config', 'check'], 'en');
    expect(en.code, en.err).toBe(0);
    expect(en.out).toContain('Config valid');
    for (const a of CONFIG_ALIASES) expect(en.err).toContain(`Warning (${f}): ${a.old.join('.')} (line`);
    expect(en.err).toContain(`is the old name of vision.enrollMinFacePx; still read, but rename it`);
    expect(en.err).toContain(`fix: rename vision.${facePx} to vision.enrollMinFacePx`);
    const zh = cli(['--config', f, 'config', 'check'], 'zh');
    expect(zh.code, zh.err).toBe(0);
    expect(zh.err).toContain(`警告 (${f}): vision.${sharpness}（第 5 行）: vision.${sharpness} 是旧名，新名为 vision.enrollMinSharpness；仍可读取，请改名`);
  });

  it('with other mistakes, the warnings are printed beside the errors, exit 2', () => {
    const f = oldFile('  threads: 0\n');
    const r = cli(['--config', f, 'config', 'check'], 'en');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`Warning (${f}): vision.${photos}`);
    expect(r.err).toMatch(/vision\.threads/);
  });

  it("a rule profile's old rule key still loads, with a warning", () => {
    const [oldRule, newRule] = [PROFILE_ALIASES[0].old[1], PROFILE_ALIASES[0].now[1]];
    const text = fs.readFileSync(path.join(PROFILES_DIR, 'henan-2025.yaml'), 'utf8');
    expect(text).toContain(`${newRule}:`);
    const f = path.join(tmp, 'old-profile.yaml');
    fs.writeFileSync(f, text.replace(`${newRule}:`, `${oldRule}:`));
    const p = loadProfile(f);
    expect(p.rules[newRule as 'reenroll-cooldown'].months).toBe(1);
    expect(profileWarnings(p).map((w) => w.path)).toEqual([`rules.${oldRule}`]);
    expect(profileWarnings(loadProfile('henan-2025'))).toEqual([]);
  });
});
