import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProfile } from '../config/profile.js';
import { evaluate } from './engine.js';
import type { Lesson, Recording } from './evidence.js';
import { liveCameras, liveOptions, liveRisk, type LiveInput } from './live.js';

const profile = loadProfile('henan-2025');
const opts = liveOptions(profile);
const MIN = 60_000;
const S = Date.UTC(2025, 9, 8, 0, 0, 0); // 08:00 Beijing
const practical: Lesson = { id: 'L1', kind: 'practical', start: S, end: S + 45 * MIN, cameras: ['cam-1'], makeUp: false };
const theory: Lesson = { ...practical, id: 'T1', kind: 'theory' };

const input = (over: Partial<LiveInput>): LiveInput => ({ lesson: practical, recordings: [], live: new Map(), sightings: [], trainees: [], now: S, ...over });
const rec = (a: number, b: number, camera = 'cam-1'): Recording => ({ camera, start: S + a, end: S + b });

describe('practical lessons: can 15 continuous minutes still be reached?', () => {
  it('camera recording since the start: fine', () => {
    const r = liveRisk(input({ recordings: [rec(0, 4 * MIN)], live: new Map([['cam-1', S + 4 * MIN]]), now: S + 5 * MIN }), opts);
    expect(r).toMatchObject({ phase: 'on', state: 'ok', reasons: [] });
    expect(r.longestMs).toBe(5 * MIN);
  });

  it('camera down at minute 5: at risk, must be back by minute 30 (45 − 15)', () => {
    const r = liveRisk(input({ recordings: [rec(0, 5 * MIN)], now: S + 6 * MIN }), opts);
    expect(r).toMatchObject({ state: 'at-risk', reasons: ['camera-down'], deadline: S + 30 * MIN });
  });

  it('threshold: at minute 30 exactly still savable; one second later lost', () => {
    const down = { recordings: [rec(0, 5 * MIN)] };
    expect(liveRisk(input({ ...down, now: S + 30 * MIN - 1000 }), opts).state).toBe('at-risk');
    expect(liveRisk(input({ ...down, now: S + 30 * MIN }), opts).state).toBe('at-risk');
    expect(liveRisk(input({ ...down, now: S + 30 * MIN + 1000 }), opts)).toMatchObject({ state: 'lost', reasons: ['continuous-unreachable'] });
  });

  it('camera back on at minute 32 after a gap: the new stretch cannot reach 15 min: lost', () => {
    const r = liveRisk(input({ recordings: [rec(0, 10 * MIN)], live: new Map([['cam-1', S + 32 * MIN]]), now: S + 33 * MIN }), opts);
    expect(r.state).toBe('lost');
    expect(r.potentialMs).toBe(13 * MIN);
  });

  it('camera back on at minute 30 exactly: 15 min reachable, fine', () => {
    const r = liveRisk(input({ recordings: [rec(0, 10 * MIN)], live: new Map([['cam-1', S + 30 * MIN]]), now: S + 31 * MIN }), opts);
    expect(r).toMatchObject({ state: 'ok', potentialMs: 15 * MIN });
  });

  it('14:59 recorded then down at minute 31: lost; 15:00 recorded: ok even with the camera down', () => {
    expect(liveRisk(input({ recordings: [rec(0, 15 * MIN - 1000)], now: S + 31 * MIN }), opts).state).toBe('lost');
    expect(liveRisk(input({ recordings: [rec(0, 15 * MIN)], now: S + 44 * MIN }), opts).state).toBe('ok');
  });

  it('gaps up to the continuity tolerance (2 s) do not break the stretch; 3 s do', () => {
    const two = [rec(0, 7 * MIN), rec(7 * MIN + 2000, 15 * MIN)];
    const three = [rec(0, 7 * MIN), rec(7 * MIN + 3000, 15 * MIN)];
    expect(liveRisk(input({ recordings: two, now: S + 40 * MIN }), opts).state).toBe('ok');
    expect(liveRisk(input({ recordings: three, now: S + 40 * MIN }), opts).state).toBe('lost');
  });

  it('the minute being recorded (live) counts provisionally', () => {
    // indexed up to 14 min, live since the start: the open segment carries it past 15
    const r = liveRisk(input({ recordings: [rec(0, 14 * MIN)], live: new Map([['cam-1', S]]), now: S + 15 * MIN + 1000 }), opts);
    expect(r.longestMs).toBeGreaterThanOrEqual(15 * MIN);
    expect(r.state).toBe('ok');
  });

  it('only the lesson’s own cameras count', () => {
    const r = liveRisk(input({ recordings: [rec(0, 20 * MIN, 'cam-2')], now: S + 35 * MIN }), opts);
    expect(r.state).toBe('lost');
  });

  it('no camera known at all: at risk while 15 min remain', () => {
    const l = { ...practical, cameras: [] };
    expect(liveRisk(input({ lesson: l, now: S + 10 * MIN }), opts).state).toBe('at-risk');
    expect(liveRisk(input({ lesson: l, now: S + 31 * MIN }), opts).state).toBe('lost');
  });

  it('upcoming and online lessons are never at risk', () => {
    expect(liveRisk(input({ now: S - MIN }), opts)).toMatchObject({ phase: 'upcoming', state: 'ok' });
    expect(liveRisk(input({ lesson: { ...practical, kind: 'online' }, now: S + 40 * MIN }), opts).state).toBe('ok');
  });

  it('property: "lost" exactly when even recording from now to the end fails the engine’s rule', () => {
    const lesson: Lesson = { ...practical, cameras: ['cam-1', 'cam-2'] };
    const arbRec = fc.record({ camera: fc.constantFrom('cam-1', 'cam-2'), a: fc.integer({ min: -5 * MIN, max: 50 * MIN }), len: fc.integer({ min: 1000, max: 20 * MIN }) });
    fc.assert(
      fc.property(fc.array(arbRec, { maxLength: 6 }), fc.integer({ min: 0, max: 45 * MIN - 1 }), (rs, t) => {
        const now = S + t;
        // only what was recorded before now is known
        const recordings = rs.map((r) => ({ camera: r.camera, start: S + r.a, end: Math.min(S + r.a + r.len, now) })).filter((r) => r.end > r.start);
        const status = liveRisk({ lesson, recordings, live: new Map(), sightings: [], trainees: [], now }, opts);
        const savable = lesson.cameras.some((cam) => {
          const v = evaluate(
            {
              class: { id: 'C', trainees: [], teachers: [{ id: 'T', certified: true }] },
              lessons: [lesson],
              recordings: [...recordings, { camera: cam, start: now, end: lesson.end }],
              sightings: [],
              checkins: [],
            },
            profile,
          );
          return !v.violations.some((f) => f.rule === 'practical-continuous-video');
        });
        expect(status.state === 'lost').toBe(!savable);
      }),
      { numRuns: 300 },
    );
  });
});

describe('theory lessons: uncovered time against the tolerance (60 s)', () => {
  it('recording with a 50 s gap so far: fine; 61 s: lost', () => {
    const ok = liveRisk(input({ lesson: theory, recordings: [rec(0, 5 * MIN), rec(5 * MIN + 50_000, 10 * MIN)], live: new Map([['cam-1', S + 10 * MIN]]), now: S + 11 * MIN }), opts);
    expect(ok).toMatchObject({ state: 'ok', uncoveredMs: 50_000 });
    const bad = liveRisk(input({ lesson: theory, recordings: [rec(0, 5 * MIN), rec(5 * MIN + 61_000, 10 * MIN)], live: new Map([['cam-1', S + 10 * MIN]]), now: S + 11 * MIN }), opts);
    expect(bad).toMatchObject({ state: 'lost', reasons: ['recording-gap'] });
  });

  it('nothing recording now but within tolerance: at risk with the deadline when the tolerance runs out', () => {
    const r = liveRisk(input({ lesson: theory, recordings: [rec(0, 10 * MIN)], now: S + 10 * MIN + 20_000 }), opts);
    expect(r).toMatchObject({ state: 'at-risk', reasons: ['recording-stopped'], uncoveredMs: 20_000, deadline: S + 11 * MIN });
  });

  it('exactly the tolerance uncovered is still within it', () => {
    const r = liveRisk(input({ lesson: theory, recordings: [rec(60_000, 10 * MIN)], live: new Map([['cam-1', S + 10 * MIN]]), now: S + 12 * MIN }), opts);
    expect(r).toMatchObject({ state: 'ok', uncoveredMs: 60_000 });
  });
});

describe('trainees not yet seen', () => {
  const base = { recordings: [rec(0, 40 * MIN)], live: new Map([['cam-1', S + 40 * MIN]]), trainees: ['S01', 'S02'] };
  it('unseen trainees are listed; at risk only when ≤ 10 min of the lesson is left', () => {
    const sightings = [{ trainee: 'S01', camera: 'cam-1', at: S + 3 * MIN }];
    const early = liveRisk(input({ ...base, sightings, now: S + 34 * MIN }), opts);
    expect(early).toMatchObject({ state: 'ok', unseen: ['S02'] });
    const late = liveRisk(input({ ...base, sightings, now: S + 35 * MIN }), opts);
    expect(late).toMatchObject({ state: 'at-risk', reasons: ['trainees-unseen'], unseen: ['S02'] });
  });
  it('a sighting at an instant not recorded, or on another camera, does not count', () => {
    const sightings = [
      { trainee: 'S01', camera: 'cam-1', at: S + 41 * MIN },
      { trainee: 'S02', camera: 'cam-9', at: S + 3 * MIN },
    ];
    expect(liveRisk(input({ ...base, sightings, now: S + 42 * MIN }), opts).unseen).toEqual(['S01', 'S02']);
  });
});

describe('liveCameras', () => {
  it('uses recorder status when known, else a fresh last segment without an open gap', () => {
    const now = S + 10 * MIN;
    const m = liveCameras({
      cameras: ['a', 'b', 'c', 'd', 'e'],
      status: new Map([
        ['a', { state: 'recording', since: S }],
        ['b', { state: 'backoff', since: S + 9 * MIN }],
      ]),
      lastSegmentEnd: new Map([
        ['b', now - 1000],
        ['c', now - 30_000],
        ['d', now - 5 * MIN],
        ['e', now - 1000],
      ]),
      openGaps: new Set(['e']),
      now,
      freshMs: 70_000,
    });
    expect([...m]).toEqual([
      ['a', S],
      ['c', now - 30_000],
    ]);
  });
});
