import { describe, expect, it } from 'vitest';
import { fromWallClock } from '../core/time.js';
import { ALWAYS, cameraWindows, expectedWithin, msPerDay, windowAt } from './schedule.js';

const TZ = 'Asia/Shanghai';
const at = (d: number, h: number, m = 0) => fromWallClock({ year: 2026, month: 3, day: d, hour: h, minute: m }, TZ);
const MIN = 60_000;
const m10 = { beforeMs: 10 * MIN, afterMs: 5 * MIN };

describe('recording schedule', () => {
  it('widens a lesson by its margins (Asia/Shanghai has no DST: 08:00 local is 00:00 UTC)', () => {
    const w = cameraWindows([{ start: at(9, 8), end: at(9, 8, 45), cameras: [] }], 'cam-1', 'timetable', m10);
    expect(w).toEqual([{ start: at(9, 7, 50), end: at(9, 8, 50) }]);
    expect(new Date(at(9, 8)).toISOString()).toBe('2026-03-09T00:00:00.000Z');
  });

  it('merges back-to-back lessons and lessons whose margins overlap into one window', () => {
    const lessons = [
      { start: at(9, 8), end: at(9, 8, 45), cameras: [] },
      { start: at(9, 8, 45), end: at(9, 9, 30), cameras: [] }, // back to back
      { start: at(9, 9, 40), end: at(9, 10, 25), cameras: [] }, // 10 min break < 5 + 10 min of margins
      { start: at(9, 14), end: at(9, 14, 45), cameras: [] }, // afternoon: a window of its own
    ];
    expect(cameraWindows(lessons, 'c', 'timetable', m10)).toEqual([
      { start: at(9, 7, 50), end: at(9, 10, 30) },
      { start: at(9, 13, 50), end: at(9, 14, 50) },
    ]);
    // without margins the break stays a break, the back-to-back pair is still one window
    expect(cameraWindows(lessons, 'c', 'timetable', { beforeMs: 0, afterMs: 0 })).toEqual([
      { start: at(9, 8), end: at(9, 9, 30) },
      { start: at(9, 9, 40), end: at(9, 10, 25) },
      { start: at(9, 14), end: at(9, 14, 45) },
    ]);
  });

  it('gives each camera the lessons that name it, and every camera the lessons that name none', () => {
    const lessons = [
      { start: at(9, 8), end: at(9, 9), cameras: ['front'] },
      { start: at(9, 10), end: at(9, 11), cameras: ['back'] },
      { start: at(9, 12), end: at(9, 13), cameras: [] },
    ];
    const z = { beforeMs: 0, afterMs: 0 };
    expect(cameraWindows(lessons, 'front', 'timetable', z)).toEqual([
      { start: at(9, 8), end: at(9, 9) },
      { start: at(9, 12), end: at(9, 13) },
    ]);
    expect(cameraWindows(lessons, 'side', 'timetable', z)).toEqual([{ start: at(9, 12), end: at(9, 13) }]);
    expect(cameraWindows(lessons, 'side', 'always', z)).toEqual([ALWAYS]);
  });

  it('answers where now stands: inside until the end, outside until the next start, half-open', () => {
    const w = [
      { start: at(9, 8), end: at(9, 9) },
      { start: at(9, 10), end: at(9, 11) },
    ];
    expect(windowAt(w, at(9, 7))).toEqual({ on: false, nextEdge: at(9, 8) });
    expect(windowAt(w, at(9, 8))).toEqual({ on: true, window: w[0], nextEdge: at(9, 9) });
    expect(windowAt(w, at(9, 9))).toEqual({ on: false, nextEdge: at(9, 10) });
    expect(windowAt(w, at(9, 12))).toEqual({ on: false });
    expect(windowAt([ALWAYS], at(9, 12)).on).toBe(true);
  });

  it('keeps a window over midnight whole and splits its hours between the two local days', () => {
    const w = cameraWindows([{ start: at(9, 23, 30), end: at(10, 0, 30), cameras: [] }], 'c', 'timetable', m10);
    expect(w).toEqual([{ start: at(9, 23, 20), end: at(10, 0, 35) }]);
    expect(windowAt(w, at(10, 0, 0)).on).toBe(true);
    const days = msPerDay(w, at(1, 0), at(20, 0), TZ);
    expect(Object.fromEntries(days)).toEqual({ '2026-03-09': 40 * MIN, '2026-03-10': 35 * MIN });
  });

  it('tells which part of a long-open gap was a hole (only the windows)', () => {
    const w = [
      { start: at(9, 8), end: at(9, 9) },
      { start: at(10, 8), end: at(10, 9) },
    ];
    // the agent stopped at 08:30 on the 9th and came back at 08:15 on the 10th
    expect(expectedWithin(w, at(9, 8, 30), at(10, 8, 15))).toEqual([
      { start: at(9, 8, 30), end: at(9, 9) },
      { start: at(10, 8), end: at(10, 8, 15) },
    ]);
    expect(expectedWithin(w, at(9, 9, 30), at(9, 20))).toEqual([]);
  });
});
