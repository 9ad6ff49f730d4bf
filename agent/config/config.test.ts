import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.js';
import { loadConfig, resolveSecret } from './load.js';
import { listProfiles, loadProfile, parseProfile } from './profile.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-cfg-'));
const write = (name: string, text: string) => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
};
const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e.issues;
    throw e;
  }
  throw new Error('expected an InputError');
};

describe('config', () => {
  it('embedded defaults validate (the demo runs on no config)', () => {
    const c = loadConfig();
    expect(c.recorder.segmentSeconds).toBe(60);
    expect(c.profile).toBe('henan-2025');
  });

  it('lists every error at once, each with its path', () => {
    const f = write(
      'bad.yaml',
      `
box: { id: "has space" }
cameras:
  - { id: cam-1 }
  - { id: cam-2, rtspUrl: "not a url" }
recorder: { segmentSeconds: 1 }
sync: { maxInFlight: 0, colour: blue }
`,
    );
    const paths = issuesOf(() => loadConfig(f)).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['box.id', 'cameras[0]', 'cameras[1].rtspUrl', 'recorder.segmentSeconds', 'sync.maxInFlight', 'sync.colour']));
  });

  it('malformed YAML and a missing file are input errors, not crashes', () => {
    expect(issuesOf(() => loadConfig(write('y.yaml', 'box: [unclosed')))[0].message).toContain('not valid YAML');
    expect(issuesOf(() => loadConfig(path.join(tmp, 'none.yaml')))[0].message).toContain('cannot read the config file');
  });

  it('secrets come from env vars or files, never required inline', () => {
    process.env.CA_TEST_SECRET = 's3cret';
    expect(resolveSecret({ env: 'CA_TEST_SECRET' }, 'sync.password')).toBe('s3cret');
    expect(resolveSecret({ file: write('pw', 'from-file\n') }, 'sync.password')).toBe('from-file');
    expect(issuesOf(() => resolveSecret({ env: 'CA_NOPE_NOT_SET' }, 'sync.password'))[0]).toMatchObject({ path: 'sync.password' });
    expect(issuesOf(() => resolveSecret({ file: '/nonexistent/pw' }, 'cameras[0].password'))[0].path).toBe('cameras[0].password');
  });
});

describe('rule profiles', () => {
  it('henan-2025 holds every number of docs/design.md §2, each with its source', () => {
    const p = loadProfile('henan-2025');
    expect(p.rules['class-size'].max).toBe(80);
    expect(p.rules['teacher-ratio'].traineesPerTeacher).toBe(20);
    expect(p.rules['workstation-ratio'].traineesPerWorkstation).toBe(6);
    expect(p.rules['lesson-length'].minMinutes).toBe(40);
    expect(p.rules['practical-share'].min).toBe(0.6);
    expect(p.rules['online-share'].max).toBe(0.4);
    expect(p.rules['theory-recording'].toleranceSeconds).toBe(60);
    expect(p.rules['practical-continuous-video'].minMinutes).toBe(15);
    expect(p.rules['trainee-on-camera'].minLessons).toBe(3);
    expect(p.rules.satisfaction.min).toBe(0.85);
    expect(p.rules['reenroll-cooldown'].months).toBe(1);
    expect(p.rules.retention.years).toBe(3);
    expect(p.continuityToleranceSeconds).toBe(2);
    for (const r of Object.values(p.rules)) expect(r.source).toMatch(/[\u4e00-\u9fff]/);
  });

  it('a second profile file is enough for another province', () => {
    expect(listProfiles()).toEqual(expect.arrayContaining(['henan-2025', 'demo-minutes']));
    const f = write(
      'other-2026.yaml',
      fs
        .readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../config/profiles/henan-2025.yaml'), 'utf8')
        .replace('id: henan-2025', 'id: other-2026')
        .replace('max: 80', 'max: 50'),
    );
    expect(loadProfile(f).rules['class-size'].max).toBe(50);
  });

  it('a profile with a missing rule or a bad number is refused with paths', () => {
    const p = structuredClone(loadProfile('henan-2025')) as any;
    delete p.rules['class-size'];
    p.rules['practical-share'].min = 1.5;
    const paths = issuesOf(() => parseProfile(p, 'x')).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['rules.class-size', 'rules.practical-share.min']));
  });
});
