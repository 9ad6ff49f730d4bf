import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { locate } from '../ffmpeg/locate.js';
import { samplePath } from '../sim/faces/generate.js';

/** Consent and enrollment through the built CLI, as a technician does it. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-enroll-'));
const state = path.join(dir, 'state');
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js'), '--state', state, '--lang', 'en', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const ff = (out: string, ...args: string[]) => {
  const r = spawnSync(locate('ffmpeg'), ['-v', 'error', '-y', ...args, out]);
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return out;
};

beforeAll(() => {
  // the school's order: the class (roster) first, then consent and enrollment
  expect(cli('class', 'import', path.join(PACKAGE_ROOT, 'test-fixtures', 'classes', 'demo-class.yaml')).code).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('enroll and consent (CLI)', () => {
  // sample1's leftmost person alone: face at 414,355 177x239
  const good = ff(path.join(dir, 'good.jpg'), '-i', samplePath(1), '-vf', 'crop=600:600:200:170');
  const good2 = ff(path.join(dir, 'good2.jpg'), '-i', good, '-vf', 'hflip,eq=brightness=0.05');
  const empty2 = ff(path.join(dir, 'empty2.jpg'), '-f', 'lavfi', '-i', 'color=c=white:s=640x480', '-frames:v', '1');
  const small = ff(path.join(dir, 'small.jpg'), '-i', good, '-vf', 'scale=200:-2');
  const blurred = ff(path.join(dir, 'blurred.jpg'), '-i', good, '-vf', 'gblur=sigma=4');
  const empty = ff(path.join(dir, 'empty.jpg'), '-f', 'lavfi', '-i', 'color=c=gray:s=640x480', '-frames:v', '1');

  it('refuses a trainee who is on no class roster, naming the fix', () => {
    const r = cli('enroll', 'S77', good, good2, '--consent-by', 'Teacher Wang');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/TRAINEE_ID: S77 is on no class roster; import the class first/);
    // and the consent given with it was not recorded either
    expect(cli('enroll', 'S77', good, good2).err).toMatch(/S77 is on no class roster/);
  });

  it('records a consent given with --consent-by only when the photos are accepted', () => {
    const r = cli('enroll', 'S02', empty, empty2, '--consent-by', 'Teacher Wang');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/PHOTO\[0\]: empty\.jpg: no face found/);
    // no consent stands for S02: a plain enroll is refused for want of it
    expect(cli('enroll', 'S02', good, good2).err).toMatch(/no face-recognition consent recorded for S02/);
  }, 120_000);

  it('asks for at least two photos and says how to take them', () => {
    expect(cli('consent', 'S03', '--by', 'Teacher Wang').code).toBe(0);
    const r = cli('enroll', 'S03', good);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/1 photo\(s\) for S03, at least 2 needed; take at least 2 photos: frontal/);
  });

  it('refuses enrollment without consent, naming the command to record it', () => {
    const r = cli('enroll', 'S01', good);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/TRAINEE_ID: no face-recognition consent recorded for S01.*classroom-agent consent S01/);
  });

  it('rejects bad photos all at once, saying which and why; stores nothing', () => {
    expect(cli('consent', 'S01', '--by', 'Teacher Wang').code).toBe(0);
    const r = cli('enroll', 'S01', good, empty, samplePath(1), small, blurred, path.join(dir, 'missing.jpg'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('PHOTO[5]');
    const r2 = cli('enroll', 'S01', good, empty, samplePath(1), small, blurred);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/PHOTO\[1\]: empty\.jpg: no face found/);
    expect(r2.err).toMatch(/PHOTO\[2\]: sample1\.jpg: 3 faces/);
    expect(r2.err).toMatch(/PHOTO\[3\]: small\.jpg: face \d+ px wide < 80 px/);
    expect(r2.err).toMatch(/PHOTO\[4\]: blurred\.jpg: blurred \(sharpness \d+ < 30\)/);
    expect(r2.err).not.toContain('PHOTO[0]');
    const st = JSON.parse(cli('vision', 'status', '--json').out) as { enrolledTrainees: number; backend: string };
    expect(st.enrolledTrainees).toBe(0);
    expect(st.backend).toBe('wasm');
  }, 300_000);

  it('enrolls from a good photo; revoking consent deletes the face data', () => {
    const r = cli('enroll', 'S01', good, good2, '--json');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as { model: string; checks: { facePx: number }[]; photos: number };
    expect(res.photos).toBe(2);
    expect(res.model).toMatch(/face_recognition_model#/);
    expect(res.checks[0]!.facePx).toBeGreaterThan(150);
    expect(fs.statSync(path.join(state, 'vision.key')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(cli('vision', 'status', '--json').out).enrolledTrainees).toBe(1);
    const rv = cli('consent', 'S01', '--revoke');
    expect(rv.out).toContain('2 face descriptor(s) deleted');
    expect(JSON.parse(cli('vision', 'status', '--json').out).enrolledTrainees).toBe(0);
    expect(cli('enroll', 'S01', good, good2).err).toMatch(/no face-recognition consent/); // consent is gone
  }, 300_000);
});
