import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, PROFILES_DIR } from '../core/paths.js';
import { Store } from '../store/store.js';

const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-storeopen-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const run = (cfg: string, args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, '--lang', 'en', '-c', cfg, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('the CLI opens the store the daemon would', () => {
  it('read-only commands never create a database', () => {
    const state = path.join(tmp, 'empty');
    const cfg = path.join(tmp, 'empty.yaml');
    fs.writeFileSync(cfg, `paths: { state: ${state} }\n`);
    for (const args of [
      ['sync', 'status'],
      ['checkins', 'list'],
      ['checkins', 'terminals'],
      ['class', 'list'],
      ['report', 'C1'],
      ['export-evidence', 'C1'],
    ]) {
      const r = run(cfg, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain('there is no evidence store yet');
      expect(r.err).toContain('fix: start the daemon');
    }
    expect(fs.existsSync(state)).toBe(false);
  });

  it('read-only commands never migrate an older database', () => {
    const state = path.join(tmp, 'old');
    fs.mkdirSync(state);
    const file = path.join(state, 'evidence.db');
    new Store({ file }).close();
    // pretend the newest migration has not run yet
    const s = new Store({ file });
    const last = s.db.prepare('SELECT id FROM schema_migrations ORDER BY applied_ms DESC, rowid DESC LIMIT 1').get() as { id: string } | undefined;
    if (!last) return s.close();
    s.db.prepare('DELETE FROM schema_migrations WHERE id = ?').run(last.id);
    s.close();
    const before = fs.readFileSync(file);
    const cfg = path.join(tmp, 'old.yaml');
    fs.writeFileSync(cfg, `paths: { state: ${state} }\n`);
    const r = run(cfg, ['class', 'list']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('is from an older version');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it("rows written through the CLI expire after the profile's retention years, not a default", () => {
    const profile = YAML.parse(fs.readFileSync(path.join(PROFILES_DIR, 'henan-2025.yaml'), 'utf8'));
    profile.rules.retention.years = 5;
    const pfile = path.join(tmp, 'five-years.yaml');
    fs.writeFileSync(pfile, YAML.stringify(profile));
    const state = path.join(tmp, 'five');
    const cfg = path.join(tmp, 'five.yaml');
    fs.writeFileSync(cfg, `paths: { state: ${state} }\nprofile: ${pfile}\n`);
    const r = run(cfg, ['class', 'import', path.join(PACKAGE_ROOT, 'test-fixtures', 'classes', 'demo-class.yaml')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const s = new Store({ file: path.join(state, 'evidence.db'), readonly: true });
    const row = s.db.prepare('SELECT expires_ms - created_ms AS keep FROM classes LIMIT 1').get() as { keep: number } | undefined;
    s.close();
    expect(row).toBeDefined();
    const years = row!.keep / (365.25 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(4.5);
  });
});
