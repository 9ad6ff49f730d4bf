import type { Interval } from '../compliance/intervals.js';
import { union } from '../compliance/intervals.js';
import { fromWallClock, wallClock } from '../core/time.js';

/**
 * When each camera records: the recording schedule. Pure functions, the clock passed in.
 *
 * A camera following the timetable records each lesson of this box's room that names it (a
 * lesson naming no camera is recorded by every camera), widened by the margins before and
 * after; windows that overlap or touch merge, so back-to-back lessons are one recording. A
 * camera set to `always` has one endless window. Outside its windows a camera is not expected
 * to record: no gap, no camera-offline alarm.
 */
export type RecordMode = 'timetable' | 'always';

export interface ScheduledLesson {
  start: number;
  end: number;
  /** cameras the lesson names; empty = every camera of the room */
  cameras: readonly string[];
}

export interface Margins {
  beforeMs: number;
  afterMs: number;
}

/** The window of `always`: from the beginning to the end of time (finite, so arithmetic stays exact). */
export const ALWAYS: Interval = { start: -8.64e15, end: 8.64e15 };

/** The windows in which `camera` records, sorted, disjoint, touching ones merged. */
export function cameraWindows(lessons: readonly ScheduledLesson[], camera: string, mode: RecordMode, m: Margins): Interval[] {
  if (mode === 'always') return [{ ...ALWAYS }];
  const mine = lessons.filter((l) => !l.cameras.length || l.cameras.includes(camera));
  return union(mine.map((l) => ({ start: l.start - m.beforeMs, end: l.end + m.afterMs })));
}

export interface WindowState {
  /** inside a window at `now` */
  on: boolean;
  /** the window containing `now`, when on */
  window?: Interval;
  /** the next edge after `now` (a window's end when on, the next start when off); undefined = none known */
  nextEdge?: number;
}

/** Where `now` stands in `windows` (sorted, disjoint). Windows are half-open: [start, end). */
export function windowAt(windows: readonly Interval[], now: number): WindowState {
  for (const w of windows) {
    if (now < w.start) return { on: false, nextEdge: w.start };
    if (now < w.end) return { on: true, window: w, nextEdge: w.end };
  }
  return { on: false };
}

/**
 * The parts of [from, to) in which recording was expected: where a gap that opened at `from`
 * and is still open at `to` really was a hole (a gap never spans time outside the windows).
 */
export function expectedWithin(windows: readonly Interval[], from: number, to: number): Interval[] {
  const out: Interval[] = [];
  for (const w of windows) {
    const start = Math.max(w.start, from);
    const end = Math.min(w.end, to);
    if (end > start) out.push({ start, end });
  }
  return out;
}

/**
 * Recorded milliseconds per local calendar day (in `tz`) of the windows within [from, to):
 * what `plan` multiplies by each camera's bitrate. A window over midnight counts on both days.
 */
export function msPerDay(windows: readonly Interval[], from: number, to: number, tz: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of expectedWithin(windows, from, to)) {
    let t = w.start;
    while (t < w.end) {
      const d = wallClock(t, tz);
      const key = `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
      const next = fromWallClock({ year: d.year, month: d.month, day: d.day + 1 }, tz);
      const end = Math.min(w.end, next);
      out.set(key, (out.get(key) ?? 0) + (end - t));
      t = end;
    }
  }
  return out;
}
