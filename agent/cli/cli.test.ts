import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { Store } from '../store/store.js';
import { EvidenceRepo } from '../store/evidence.js';
import { ClassRepo } from '../store/classes.js';
import { evidenceLog } from '../store/evidence-log.js';

const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const EX = path.join(PACKAGE_ROOT, 'test-fixtures', 'evidence');
let tmp: string;

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, '--state', tmp, ...args], { encoding: 'utf8', input, env: { ...process.env, LANG: 'en_US.UTF-8' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = () => JSON.parse(fs.readFileSync(path.join(EX, 'ex1-eligible.json'), 'utf8'));
function bad(mutate: (b: any) => void): string {
  const b = base();
  mutate(b);
  const f = path.join(tmp, `bad-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(f, JSON.stringify(b));
  return f;
}

describe('evaluate CLI', () => {
  it('exit 0 for an eligible bundle, 1 for a non-eligible one, JSON on stdout', () => {
    const ok = run(['evaluate', path.join(EX, 'ex1-eligible.json'), '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).eligible).toBe(true);
    const no = run(['evaluate', path.join(EX, 'ex2-practical-gap.json'), '--json']);
    expect(no.code).toBe(1);
    expect(JSON.parse(no.out).violations[0]).toMatchObject({ rule: 'practical-continuous-video', lesson: 'L03' });
  });

  it('prints a readable report in Chinese or English', () => {
    expect(run(['evaluate', path.join(EX, 'ex3-trainee-unseen.json'), '--lang', 'zh']).out).toContain('不符合补贴条件');
    expect(run(['evaluate', path.join(EX, 'ex3-trainee-unseen.json'), '--lang', 'en']).out).toContain('NOT eligible');
  });

  it('reads stdin with "-" and honours --profile', () => {
    const r = run(['evaluate', '-', '--json', '--profile', 'demo-minutes'], fs.readFileSync(path.join(EX, 'ex1-eligible.json'), 'utf8'));
    expect(JSON.parse(r.out).profile).toBe('demo-minutes');
  });

  const cases: Array<[string, () => string, string]> = [
    [
      'malformed JSON',
      () => {
        const f = path.join(tmp, 'broken.json');
        fs.writeFileSync(f, '{"class": {');
        return f;
      },
      'not valid JSON',
    ],
    ['wrong type', () => bad((b) => (b.class.teachers[0].certified = 'yes')), 'class.teachers[0].certified'],
    ['unknown lesson kind', () => bad((b) => (b.lessons[2].kind = 'lab')), 'lessons[2].kind'],
    ['end before start', () => bad((b) => (b.lessons[1].end = '2025-10-08T08:00:00+08:00')), 'lessons[1].end'],
    ['timestamp without zone', () => bad((b) => (b.recordings[4].start = '2025-10-08T08:00:00')), 'recordings[4].start'],
    ['unknown trainee in a sighting', () => bad((b) => (b.sightings[7].trainee = 'S99')), 'sightings[7].trainee'],
    ['duplicate lesson id', () => bad((b) => (b.lessons[3].id = 'L01')), 'lessons[3].id'],
    ['duplicate trainee id', () => bad((b) => b.class.trainees.push({ id: 'S01' })), 'class.trainees[10].id'],
    ['missing class', () => bad((b) => delete b.class), 'class'],
    ['unknown profile', () => bad((b) => (b.profile = 'atlantis-2030')), 'unknown profile'],
    ['missing file', () => path.join(tmp, 'nope.json'), 'cannot read'],
  ];
  for (const [name, file, mention] of cases) {
    it(`unusable input → exit 2 naming the path: ${name}`, () => {
      const r = run(['evaluate', file(), '--json']);
      expect(r.code).toBe(2);
      expect(r.err).toContain(mention);
      expect(r.err).not.toMatch(/\n\s+at .+\.js:\d+/); // no stack trace
      expect(r.out).toBe('');
    });
  }

  it('shared malformed example names lessons[1]', () => {
    const r = run(['evaluate', path.join(EX, 'ex5-malformed.bad.json')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('lessons[1]');
  });
});

describe('class import, export-evidence, report', () => {
  const classFile = path.join(PACKAGE_ROOT, 'test-fixtures', 'classes', 'demo-class.yaml');

  it('imports a class with a schedule block expanded into lessons', () => {
    const r = run(['class', 'import', classFile]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('4 trainees');
    expect(r.out).toContain('4 lessons');
  });

  it('evaluate(export-evidence(class)) equals report(class)', () => {
    // fill the store with evidence as the recorder, vision and terminals would
    const store = new Store({ file: path.join(tmp, 'evidence.db') });
    const lessons = new ClassRepo(store).lessons('HN-TEST-0001');
    expect(lessons.map((l) => l.id)).toEqual(['L01', 'P002', 'P003', 'P004']);
    const repo = new EvidenceRepo(store);
    for (const l of lessons) {
      for (let t = l.start - 60_000; t < l.end; t += 60_000) {
        // P003 loses 40 minutes of video: its longest stretch is under 15 min
        if (l.id === 'P003' && t > l.start + 5 * 60_000) continue;
        repo.addRecording({ camera: 'cam-1', path: `/v/cam-1/${t}.mp4`, start: t, end: t + 60_000, bytes: 1000, sha256: 'x'.repeat(64) });
      }
      repo.addSightings(['S01', 'S02', 'S03'].map((s) => ({ trainee: s, camera: 'cam-1', at: l.start + 120_000 })));
    }
    const id = store.db
      .prepare("INSERT INTO checkins (dedup_key, terminal, person, trainee, at_ms, created_ms, expires_ms) VALUES ('k1', 'gate', '1001', 'S01', ?, 0, 0)")
      .run(lessons[0].start - 600_000).lastInsertRowid;
    // as the check-in intake does: every evidential row enters the evidence log with it
    evidenceLog(store).row('checkins', [Number(id)], { fresh: true });
    store.close();

    const report = run(['report', 'HN-TEST-0001', '--json']);
    expect(report.code).toBe(1);
    const out = path.join(tmp, 'bundle.json');
    expect(run(['export-evidence', 'HN-TEST-0001', '-o', out]).code).toBe(0);
    const evald = run(['evaluate', out, '--json']);
    expect(evald.code).toBe(1);
    expect(JSON.parse(evald.out)).toEqual(JSON.parse(report.out));
    const v = JSON.parse(report.out);
    expect(v.violations.map((f: any) => [f.rule, f.lesson ?? f.trainee])).toEqual([
      ['practical-continuous-video', 'P003'],
      ['reenroll-cooldown', 'S03'],
      ['trainee-on-camera', 'S04'],
    ]);
    expect(v.openingHeadcount).toBe(1);
  });

  it('a class file with errors names each path', () => {
    const f = path.join(tmp, 'badclass.yaml');
    fs.writeFileSync(
      f,
      'id: X\ntrainees: [S01]\nteachers: [{id: T1, certified: maybe}]\nschedule:\n  - { kind: lab, start: "2025-10-08 08:00", end: "2025-10-08 08:45" }\n  - { kind: theory, start: "tomorrow", lessons: 2, minutes: 45 }\n',
    );
    const r = run(['class', 'import', f]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('teachers[0].certified');
    expect(r.err).toContain('schedule[0]');
  });

  it('report on an unknown class is an input error', () => {
    const r = run(['report', 'NOPE']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown class');
  });
});
