import { describe, expect, it } from 'vitest';
import { loadProfile, type Profile } from '../config/profile.js';
import { evaluate } from './engine.js';
import type { Evidence, Lesson, LessonKind } from './evidence.js';

const henan = loadProfile('henan-2025');
const MIN = 60_000;
const T0 = Date.parse('2025-10-08T08:00:00+08:00');

/** A class of n trainees, lessons of 45 min every hour, fully recorded on cam-1, everyone seen in every lesson. */
function fixture(opts: { trainees?: number; kinds?: LessonKind[]; teachers?: number } = {}): Evidence {
  const n = opts.trainees ?? 10;
  const kinds = opts.kinds ?? ['theory', 'theory', 'practical', 'practical', 'practical'];
  const trainees = Array.from({ length: n }, (_, i) => ({ id: `S${String(i + 1).padStart(2, '0')}` }));
  const lessons: Lesson[] = kinds.map((kind, i) => ({ id: `L${i + 1}`, kind, start: T0 + i * 60 * MIN, end: T0 + i * 60 * MIN + 45 * MIN, cameras: ['cam-1'], makeUp: false }));
  return {
    class: { id: 'C1', trainees, teachers: Array.from({ length: opts.teachers ?? 1 }, (_, i) => ({ id: `T${i + 1}`, certified: true })) },
    lessons,
    recordings: lessons.filter((l) => l.kind !== 'online').map((l) => ({ camera: 'cam-1', start: l.start, end: l.end })),
    sightings: lessons.filter((l) => l.kind !== 'online').flatMap((l) => trainees.map((t) => ({ trainee: t.id, camera: 'cam-1', at: l.start + 10 * MIN }))),
    checkins: [],
  };
}

const rules = (e: Evidence, p: Profile = henan) => evaluate(e, p).violations.map((v) => v.rule);
const warnings = (e: Evidence, p: Profile = henan) => evaluate(e, p).warnings.map((v) => v.rule);

describe('compliance engine: thresholds at, below and above', () => {
  it('baseline fixture is eligible', () => {
    const v = evaluate(fixture(), henan);
    expect(v.violations).toEqual([]);
    expect(v.eligible).toBe(true);
  });

  it('class-size: 80 ok, 81 violates', () => {
    expect(rules(fixture({ trainees: 80, teachers: 4 }))).not.toContain('class-size');
    expect(rules(fixture({ trainees: 81, teachers: 5 }))).toContain('class-size');
  });

  it('teacher-ratio: 20 per teacher ok, 21 violates, no teacher violates', () => {
    expect(rules(fixture({ trainees: 20 }))).not.toContain('teacher-ratio');
    expect(rules(fixture({ trainees: 21 }))).toContain('teacher-ratio');
    expect(rules(fixture({ trainees: 40, teachers: 2 }))).not.toContain('teacher-ratio');
    expect(rules(fixture({ teachers: 0 }))).toContain('teacher-ratio');
  });

  it('workstation-ratio: only when known; 6 per workstation ok, 7 violates', () => {
    const e = fixture({ trainees: 12 });
    expect(rules(e)).not.toContain('workstation-ratio');
    e.class.workstations = 2;
    expect(rules(e)).not.toContain('workstation-ratio');
    e.class.trainees.push({ id: 'S13' });
    expect(rules(e)).toContain('workstation-ratio');
  });

  it('teacher-certified: one violation per uncertified teacher', () => {
    const e = fixture({ teachers: 3 });
    e.class.teachers[1].certified = false;
    const v = evaluate(e, henan).violations.filter((f) => f.rule === 'teacher-certified');
    expect(v.map((f) => f.teacher)).toEqual(['T2']);
  });

  it('lesson-length: 40 min ok, 39:59 violates, for every kind including make-up and online', () => {
    for (const kind of ['theory', 'practical', 'online'] as const) {
      const e = fixture();
      e.lessons[0] = { ...e.lessons[0], kind, end: e.lessons[0].start + 40 * MIN };
      expect(evaluate(e, henan).violations.filter((f) => f.rule === 'lesson-length')).toEqual([]);
      e.lessons[0].end -= 1000;
      e.lessons[0].makeUp = kind === 'theory';
      expect(
        evaluate(e, henan)
          .violations.filter((f) => f.rule === 'lesson-length')
          .map((f) => f.lesson),
      ).toEqual(['L1']);
    }
  });

  it('practical-share: 60% ok, below violates, make-ups not counted', () => {
    expect(rules(fixture({ kinds: ['theory', 'theory', 'practical', 'practical', 'practical'] }))).not.toContain('practical-share');
    expect(rules(fixture({ kinds: ['theory', 'theory', 'theory', 'practical', 'practical'] }))).toContain('practical-share');
    const e = fixture({ kinds: ['theory', 'theory', 'practical', 'practical', 'practical', 'theory'] });
    expect(rules(e)).toContain('practical-share'); // 3 of 6
    e.lessons[5].makeUp = true;
    expect(rules(e)).not.toContain('practical-share'); // 3 of 5
  });

  it('online-share: 40% ok, above violates', () => {
    expect(rules(fixture({ kinds: ['online', 'online', 'practical', 'practical', 'practical'] }))).not.toContain('online-share');
    const six = fixture({ kinds: ['online', 'online', 'online', 'practical', 'practical', 'practical', 'practical'] });
    expect(rules(six)).toContain('online-share'); // 3/7 = 42.9%
  });

  it('theory-recording: 60 s missing ok, 61 s violates', () => {
    const e = fixture();
    e.recordings[0] = { ...e.recordings[0], end: e.lessons[0].end - 60_000 };
    expect(rules(e)).not.toContain('theory-recording');
    e.recordings[0].end -= 1000;
    const v = evaluate(e, henan);
    expect(v.violations.find((f) => f.rule === 'theory-recording')?.lesson).toBe('L1');
    expect(v.lessons[0].uncoveredSeconds).toBe(61);
    expect(v.lessons[0].recordedSeconds + v.lessons[0].uncoveredSeconds).toBe(45 * 60);
  });

  it('theory-recording: recordings of several cameras are united', () => {
    const e = fixture();
    const l = e.lessons[0];
    l.cameras = ['cam-1', 'cam-2'];
    e.recordings[0] = { camera: 'cam-1', start: l.start, end: l.start + 30 * MIN };
    e.recordings.push({ camera: 'cam-2', start: l.start + 30 * MIN, end: l.end });
    expect(rules(e)).not.toContain('theory-recording');
  });

  it('practical-continuous-video: exactly 15 min ok, 14:59 violates; ≤ 2 s gaps bridge, 3 s do not', () => {
    const e = fixture();
    const l = e.lessons[2];
    e.recordings[2] = { camera: 'cam-1', start: l.start, end: l.start + 15 * MIN };
    expect(rules(e)).not.toContain('practical-continuous-video');
    e.recordings[2].end -= 1000;
    expect(rules(e)).toContain('practical-continuous-video');
    // two 8-minute halves separated by 2 s: continuous
    e.recordings[2] = { camera: 'cam-1', start: l.start, end: l.start + 8 * MIN };
    e.recordings.push({ camera: 'cam-1', start: l.start + 8 * MIN + 2000, end: l.start + 16 * MIN });
    expect(rules(e)).not.toContain('practical-continuous-video');
    e.recordings[e.recordings.length - 1].start += 1000;
    expect(rules(e)).toContain('practical-continuous-video');
  });

  it('practical-continuous-video: stretches on two cameras do not add up; video outside the window does not count', () => {
    const e = fixture();
    const l = e.lessons[2];
    l.cameras = ['cam-1', 'cam-2'];
    e.recordings[2] = { camera: 'cam-1', start: l.start, end: l.start + 10 * MIN };
    e.recordings.push({ camera: 'cam-2', start: l.start + 10 * MIN, end: l.start + 20 * MIN });
    expect(rules(e)).toContain('practical-continuous-video');
    e.recordings.push({ camera: 'cam-1', start: l.start - 10 * MIN, end: l.start + 14 * MIN });
    expect(rules(e)).toContain('practical-continuous-video'); // only 14 min inside the lesson
  });

  it('trainee-on-camera: 3 lessons ok, 2 violates; unrecorded instants and other cameras prove nothing', () => {
    const e = fixture();
    const drop = (lessonIdx: number, trainee: string) => {
      const l = e.lessons[lessonIdx];
      e.sightings = e.sightings.filter((s) => !(s.trainee === trainee && s.at >= l.start && s.at < l.end));
    };
    drop(0, 'S01');
    drop(1, 'S01');
    expect(rules(e)).not.toContain('trainee-on-camera');
    drop(2, 'S01');
    const v = evaluate(e, henan);
    expect(v.violations.filter((f) => f.rule === 'trainee-on-camera').map((f) => f.trainee)).toEqual(['S01']);
    expect(v.trainees.find((t) => t.id === 'S01')?.lessonsOnCamera).toBe(2);
    // seen in lesson 3 but on a camera not covering the room
    e.sightings.push({ trainee: 'S01', camera: 'cam-9', at: e.lessons[2].start + MIN });
    e.recordings.push({ camera: 'cam-9', start: e.lessons[2].start, end: e.lessons[2].end });
    expect(rules(e)).toContain('trainee-on-camera');
    // seen on the right camera at an instant not recorded
    e.recordings[2] = { camera: 'cam-1', start: e.lessons[2].start + 20 * MIN, end: e.lessons[2].end };
    e.sightings.push({ trainee: 'S01', camera: 'cam-1', at: e.lessons[2].start + 5 * MIN });
    expect(rules(e)).toContain('trainee-on-camera');
    // sighting at the window end is outside (half-open)
    e.sightings.push({ trainee: 'S01', camera: 'cam-1', at: e.lessons[2].end });
    expect(rules(e)).toContain('trainee-on-camera');
    e.sightings.push({ trainee: 'S01', camera: 'cam-1', at: e.lessons[2].end - 1 });
    expect(rules(e)).not.toContain('trainee-on-camera');
  });

  it('a lesson that lists no camera accepts any camera', () => {
    const e = fixture();
    for (const l of e.lessons) l.cameras = [];
    e.recordings = e.recordings.map((r, i) => ({ ...r, camera: `cam-${i}` }));
    e.sightings = e.sightings.map((s) => ({ ...s, camera: `cam-${e.lessons.findIndex((l) => s.at >= l.start && s.at < l.end)}` }));
    expect(evaluate(e, henan).eligible).toBe(true);
  });

  it('online lessons never count as lessons on camera and have no recording rules', () => {
    const e = fixture({ kinds: ['online', 'online', 'practical', 'practical', 'practical'] });
    e.sightings.push({ trainee: 'S01', camera: 'cam-1', at: e.lessons[0].start + MIN });
    e.recordings.push({ camera: 'cam-1', start: e.lessons[0].start, end: e.lessons[0].end });
    const v = evaluate(e, henan);
    expect(v.trainees[0].lessonsOnCamera).toBe(3);
    expect(v.lessons[0]).toMatchObject({ recordedSeconds: 0, uncoveredSeconds: 0, longestContinuousSeconds: 0, traineesOnCamera: [] });
  });

  it('make-up lesson: judged only by makeup-recording (a warning); counts on camera only when fully recorded', () => {
    const e = fixture({ kinds: ['theory', 'practical', 'practical', 'practical', 'practical'] });
    const mk = e.lessons[3];
    mk.makeUp = true;
    for (const i of [1, 2]) e.sightings = e.sightings.filter((s) => !(s.trainee === 'S01' && s.at >= e.lessons[i].start && s.at < e.lessons[i].end));
    // S01 seen in L1, L4 (make-up) and L5
    expect(evaluate(e, henan).trainees[0].lessonsOnCamera).toBe(3);
    e.recordings[3] = { camera: 'cam-1', start: mk.start, end: mk.end - 61_000 };
    const v = evaluate(e, henan);
    expect(v.warnings.map((w) => [w.rule, w.lesson])).toEqual([['makeup-recording', 'L4']]);
    expect(v.violations.map((f) => f.rule)).toEqual(['trainee-on-camera']);
    expect(v.trainees[0].lessonsOnCamera).toBe(2);
    // a make-up with only 5 min of video never raises practical-continuous-video
    e.recordings[3] = { camera: 'cam-1', start: mk.start, end: mk.start + 5 * MIN };
    expect(rules(e)).not.toContain('practical-continuous-video');
    expect(warnings(e)).toContain('makeup-recording');
  });

  it('satisfaction: 85% ok, 84.9% violates, unknown not judged', () => {
    const e = fixture();
    expect(rules(e)).not.toContain('satisfaction');
    e.class.satisfaction = 0.85;
    expect(rules(e)).not.toContain('satisfaction');
    e.class.satisfaction = 0.849;
    expect(rules(e)).toContain('satisfaction');
  });

  it('reenroll-cooldown: never assessed violates; one calendar month exactly ok, a second less violates', () => {
    const e = fixture();
    e.class.trainees[0].previousProject = { assessedAt: null };
    expect(evaluate(e, henan).violations.find((f) => f.rule === 'reenroll-cooldown')?.trainee).toBe('S01');
    e.class.trainees[0].previousProject = { assessedAt: Date.parse('2025-09-08T08:00:00+08:00') };
    expect(rules(e)).not.toContain('reenroll-cooldown');
    e.class.trainees[0].previousProject = { assessedAt: Date.parse('2025-09-08T08:00:01+08:00') };
    expect(rules(e)).toContain('reenroll-cooldown');
    // calendar months clamp: assessed Jan 31 → allowed from Feb 28 (2025 is not a leap year)
    e.lessons = e.lessons.map((l) => ({
      ...l,
      start: l.start - Date.parse('2025-10-08T08:00:00+08:00') + Date.parse('2025-02-28T08:00:00+08:00'),
      end: l.end - Date.parse('2025-10-08T08:00:00+08:00') + Date.parse('2025-02-28T08:00:00+08:00'),
    }));
    e.class.trainees[0].previousProject = { assessedAt: Date.parse('2025-01-31T08:00:00+08:00') };
    expect(rules(e)).not.toContain('reenroll-cooldown');
  });

  it('an unverified profile value makes its rule advisory: a warning, still eligible', () => {
    const p: Profile = structuredClone(henan);
    p.rules['class-size'].verified = false;
    const v = evaluate(fixture({ trainees: 81, teachers: 5 }), p);
    expect(v.violations.map((f) => f.rule)).not.toContain('class-size');
    expect(v.warnings.find((f) => f.rule === 'class-size')?.advisory).toBe(true);
  });

  it('a disabled rule is not judged', () => {
    const p: Profile = structuredClone(henan);
    p.rules['class-size'].enabled = false;
    expect(rules(fixture({ trainees: 81, teachers: 5 }), p)).not.toContain('class-size');
  });

  it('opening headcount: distinct trainees checked in on the first lesson day (Asia/Shanghai)', () => {
    const e = fixture();
    e.checkins = [
      { trainee: 'S01', terminal: 'g', at: Date.parse('2025-10-08T07:50:00+08:00') },
      { trainee: 'S01', terminal: 'g', at: Date.parse('2025-10-08T12:50:00+08:00') },
      { trainee: 'S02', terminal: 'g', at: Date.parse('2025-10-08T00:10:00+08:00') }, // 16:10 UTC the day before
      { trainee: 'S03', terminal: 'g', at: Date.parse('2025-10-09T07:50:00+08:00') },
    ];
    const v = evaluate(e, henan);
    expect(v.openingHeadcount).toBe(2);
    expect(v.trainees[0].checkIns).toBe(2);
  });

  it('checked in but never seen on camera is listed', () => {
    const e = fixture();
    e.sightings = e.sightings.filter((s) => s.trainee !== 'S02');
    e.checkins = [{ trainee: 'S02', terminal: 'g', at: T0 - MIN }];
    expect(evaluate(e, henan).checkedInNeverSeen).toEqual(['S02']);
  });

  it('violations are sorted by rule, then subject, and carry bilingual messages', () => {
    const e = fixture({ trainees: 81, teachers: 1 });
    const v = evaluate(e, henan);
    const ids = v.violations.map((f) => f.rule);
    expect(ids).toEqual([...ids].sort());
    for (const f of v.violations) {
      expect(f.message).toMatch(/\w/);
      expect(f.messageZh).toMatch(/[\u4e00-\u9fff]/);
    }
  });
});
