/**
 * Interval arithmetic on half-open intervals [start, end) of UTC milliseconds.
 * Everything the recording rules say rests on these few functions, so they are small,
 * total (never throw) and property-tested (intervals.test.ts).
 */
export interface Interval {
  start: number;
  end: number;
}

const nonEmpty = (i: Interval) => i.end > i.start;

/**
 * Merge intervals that overlap or are separated by at most `tolerance` ms.
 * With tolerance 0, touching intervals ([a,b) and [b,c)) merge: together they cover [a,c).
 * The result is sorted, disjoint, and separated by more than `tolerance`.
 */
export function union(intervals: readonly Interval[], tolerance = 0): Interval[] {
  const sorted = intervals.filter(nonEmpty).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start - last.end <= tolerance) {
      if (i.end > last.end) last.end = i.end;
    } else {
      out.push({ start: i.start, end: i.end });
    }
  }
  return out;
}

/** Parts of the intervals inside the window [w.start, w.end). */
export function clip(intervals: readonly Interval[], w: Interval): Interval[] {
  const out: Interval[] = [];
  for (const i of intervals) {
    const start = Math.max(i.start, w.start);
    const end = Math.min(i.end, w.end);
    if (end > start) out.push({ start, end });
  }
  return out;
}

/** Total length covered (overlaps counted once). */
export function measure(intervals: readonly Interval[]): number {
  return union(intervals).reduce((s, i) => s + (i.end - i.start), 0);
}

/** The window minus the intervals: the uncovered stretches, sorted. */
export function complement(intervals: readonly Interval[], w: Interval): Interval[] {
  const out: Interval[] = [];
  let cursor = w.start;
  for (const i of union(clip(intervals, w))) {
    if (i.start > cursor) out.push({ start: cursor, end: i.start });
    cursor = Math.max(cursor, i.end);
  }
  if (w.end > cursor) out.push({ start: cursor, end: w.end });
  return out;
}

/**
 * Longest continuous stretch inside the window: intervals merged with `tolerance` (a gap of
 * ≤ tolerance does not break continuity and counts as part of the stretch), then clipped.
 */
export function longestContinuous(intervals: readonly Interval[], w: Interval, tolerance: number): number {
  let best = 0;
  for (const s of clip(union(intervals, tolerance), w)) best = Math.max(best, s.end - s.start);
  return best;
}

/** Whether instant t lies in some interval (half-open: start included, end excluded). */
export function covers(intervals: readonly Interval[], t: number): boolean {
  return intervals.some((i) => i.start <= t && t < i.end);
}

/** Like covers(), for a sorted disjoint list (output of union), in O(log n). */
export function coversSorted(sorted: readonly Interval[], t: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const i = sorted[mid];
    if (t < i.start) hi = mid - 1;
    else if (t >= i.end) lo = mid + 1;
    else return true;
  }
  return false;
}
