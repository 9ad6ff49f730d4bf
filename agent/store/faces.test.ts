import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from './store.js';
import { FaceRepo, type FrameMatch } from './faces.js';
import { ClassRepo } from './classes.js';

const sealed = { iv: Buffer.alloc(12), tag: Buffer.alloc(16), data: Buffer.alloc(512) };

function open() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-faces-'));
  return new Store({ file: path.join(dir, 'e.db') });
}

describe('FaceRepo', () => {
  it('refuses descriptors without consent and after revocation; revocation deletes them', () => {
    const store = open();
    const f = new FaceRepo(store);
    expect(() => f.addDescriptors('S01', [{ model: 'm', sealed, source: 'photo 1', facePx: 120, sharpness: 99 }], true)).toThrow(/no face-recognition consent/);
    expect(store.db.prepare('SELECT COUNT(*) FROM face_descriptors').pluck().get()).toBe(0);
    f.giveConsent('S01', { recordedBy: 'Wang', method: 'written' }, 1);
    f.addDescriptors('S01', [{ model: 'm', sealed, source: 'photo 1', facePx: 120, sharpness: 99 }], true);
    f.addDescriptors('S01', [{ model: 'm', sealed, source: 'photo 2', facePx: 120, sharpness: 99 }], false);
    expect(f.descriptors(['S01'], 'm')).toHaveLength(2);
    expect(f.descriptors(['S01'], 'other-model')).toHaveLength(0);
    expect(f.revokeConsent('S01', 2)).toBe(2);
    expect(f.descriptors(['S01'], 'm')).toHaveLength(0);
    expect(() => f.addDescriptors('S01', [{ model: 'm', sealed, source: 'photo 1', facePx: 120, sharpness: 99 }], true)).toThrow();
    store.close();
  });

  it('promotes matches to sightings only once K distinct frames agree, exactly once', () => {
    const store = open();
    new ClassRepo(store).save(
      {
        id: 'C1',
        timezone: 'Asia/Shanghai',
        trainees: [{ id: 'S01', terminalIds: [] }],
        teachers: [],
        lessons: [{ id: 'L1', kind: 'theory', start: 0, end: 3_600_000, cameras: ['cam-1'], makeUp: false }],
      },
      'henan-2025',
    );
    const f = new FaceRepo(store);
    f.giveConsent('S01', { recordedBy: 'teacher', method: 'paper' }, 0); // matches of a trainee without consent are dropped
    const m = (at: number): FrameMatch => ({ classId: 'C1', lessonId: 'L1', trainee: 'S01', camera: 'cam-1', at, recordingId: 7, offsetMs: at - 1000, distance: 0.2, margin: 0.3 });
    const frame = (at: number, matched: number) => ({ camera: 'cam-1', at, recordingId: 7, offsetMs: at - 1000, classId: 'C1', lessonId: 'L1', faces: 3, matched, unknown: 3 - matched });
    expect(f.recordFrame(frame(10_000, 1), [m(10_000)], 3)).toEqual([]);
    expect(f.recordFrame(frame(20_000, 0), [], 3)).toEqual([]);
    expect(f.recordFrame(frame(30_000, 1), [m(30_000)], 3)).toEqual([]);
    const third = f.recordFrame(frame(40_000, 1), [m(40_000)], 3);
    expect(third.map((s) => s.at)).toEqual([10_000, 30_000, 40_000]);
    expect(f.recordFrame(frame(50_000, 1), [m(50_000)], 3).map((s) => s.at)).toEqual([50_000]);
    const rows = store.db.prepare('SELECT trainee, class_id, camera, at_ms, recording_id, offset_ms, distance, margin FROM sightings ORDER BY at_ms').all();
    expect(rows).toHaveLength(4);
    expect(rows[0]).toEqual({ trainee: 'S01', class_id: 'C1', camera: 'cam-1', at_ms: 10_000, recording_id: 7, offset_ms: 9_000, distance: 0.2, margin: 0.3 });
    expect(f.headcount('cam-1', 0, 100_000).map((h) => h.unknown)).toEqual([2, 3, 2, 2, 2]);
    expect(new ClassRepo(store).evidence('C1')!.sightings).toHaveLength(4);
    store.close();
  });

  it('a re-scan of the same frames replaces the headcount and never doubles a sighting', () => {
    const store = open();
    new ClassRepo(store).save(
      {
        id: 'C1',
        timezone: 'Asia/Shanghai',
        trainees: [
          { id: 'S01', terminalIds: [] },
          { id: 'S02', terminalIds: [] },
        ],
        teachers: [],
        lessons: [{ id: 'L1', kind: 'theory', start: 0, end: 3_600_000, cameras: ['cam-1'], makeUp: false }],
      },
      'henan-2025',
    );
    const f = new FaceRepo(store);
    // matches count only under a standing consent (edge: withdrawal is honoured whatever a caller cached)
    for (const t of ['S01', 'S02']) f.giveConsent(t, { recordedBy: 'Wang', method: 'written' }, 1);
    const m = (trainee: string, at: number): FrameMatch => ({
      classId: 'C1',
      lessonId: 'L1',
      trainee,
      camera: 'cam-1',
      at,
      recordingId: 7,
      offsetMs: at,
      distance: 0.2,
      margin: 0.3,
      box: { x: 10, y: 20, width: 50, height: 60 },
    });
    const frame = (at: number, faces: number, matched: number) => ({
      camera: 'cam-1',
      at,
      recordingId: 7,
      offsetMs: at,
      classId: 'C1',
      lessonId: 'L1',
      faces,
      matched,
      unknown: faces - matched,
      small: 1,
    });
    const scan = (withS02: boolean) => [
      ...f.recordFrame(frame(10_000, 3, withS02 ? 2 : 1), [m('S01', 10_000), ...(withS02 ? [m('S02', 10_000)] : [])], 2),
      ...f.recordFrame(frame(20_000, 3, withS02 ? 2 : 1), [m('S01', 20_000), ...(withS02 ? [m('S02', 20_000)] : [])], 2),
    ];
    const sightings = () => store.db.prepare('SELECT trainee, COUNT(*) AS n FROM sightings GROUP BY trainee ORDER BY trainee').all();
    expect(scan(false)).toHaveLength(2);
    expect(sightings()).toEqual([{ trainee: 'S01', n: 2 }]);
    // `vision scan` again over the same segment: nothing new
    expect(scan(false)).toEqual([]);
    expect(sightings()).toEqual([{ trainee: 'S01', n: 2 }]);
    expect(f.headcount('cam-1', 0, 100_000)).toHaveLength(2);
    // after S02 was enrolled, a re-scan adds S02 only, and the headcount row is replaced, not added
    expect(scan(true).map((s) => s.trainee)).toEqual(['S02', 'S02']);
    expect(sightings()).toEqual([
      { trainee: 'S01', n: 2 },
      { trainee: 'S02', n: 2 },
    ]);
    expect(f.headcount('cam-1', 0, 100_000).map((h) => [h.faces, h.matched, h.unknown, h.small])).toEqual([
      [3, 2, 1, 1],
      [3, 2, 1, 1],
    ]);
    // what a reviewer sees of a sighting: frames, box, distance, margin
    const ev = f.sightingEvidence('C1', 'L1', 'S01');
    expect(ev.map((e) => [e.recordingId, e.offsetMs, e.box, e.distance, e.margin, e.promoted])).toEqual([
      [7, 10_000, { x: 10, y: 20, width: 50, height: 60 }, 0.2, 0.3, true],
      [7, 20_000, { x: 10, y: 20, width: 50, height: 60 }, 0.2, 0.3, true],
    ]);
    store.close();
  });

  it('keeps a matched crop only under consent, and withdrawal deletes it with the descriptors', () => {
    const store = open();
    new ClassRepo(store).save(
      {
        id: 'C1',
        timezone: 'Asia/Shanghai',
        trainees: [{ id: 'S01', terminalIds: [] }],
        teachers: [],
        lessons: [{ id: 'L1', kind: 'theory', start: 0, end: 3_600_000, cameras: ['cam-1'], makeUp: false }],
      },
      'henan-2025',
    );
    const f = new FaceRepo(store);
    f.giveConsent('S01', { recordedBy: 'Wang', method: 'written' }, 1);
    f.recordFrame(
      { camera: 'cam-1', at: 1000, recordingId: 3, offsetMs: 1000, classId: 'C1', lessonId: 'L1', faces: 2, matched: 1, unknown: 1 },
      [
        { classId: 'C1', lessonId: 'L1', trainee: 'S01', camera: 'cam-1', at: 1000, recordingId: 3, offsetMs: 1000, distance: 0.2, margin: 0.3 },
        // S02 gave no consent: the match is not kept at all
        { classId: 'C1', lessonId: 'L1', trainee: 'S02', camera: 'cam-1', at: 1000, recordingId: 3, offsetMs: 1000, distance: 0.2, margin: 0.3 },
      ],
      1,
    );
    expect(f.matchId(3, 1000, 'L1', 'S02')).toBeUndefined();
    const id = f.matchId(3, 1000, 'L1', 'S01')!;
    expect(f.addMatchCrop(id, 'S02', sealed)).toBe(false); // no consent
    expect(f.addMatchCrop(id, 'S01', sealed)).toBe(true);
    expect(f.matchCrop(id)?.trainee).toBe('S01');
    expect(f.sightingEvidence('C1', 'L1', 'S01')[0]!.hasCrop).toBe(true);
    f.revokeConsent('S01', 2);
    expect(f.matchCrop(id)).toBeUndefined();
    store.close();
  });
});
