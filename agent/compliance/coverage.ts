import { clip, complement, coversSorted, measure, union, type Interval } from './intervals.js';
import type { Evidence, Lesson } from './evidence.js';

/** What the recordings show of one lesson. Online lessons have no recording rules: all zero. */
export interface LessonCoverage {
  lesson: Lesson;
  recordedMs: number;
  uncoveredMs: number;
  longestContinuousMs: number;
  /** distinct trainees seen on recorded video of the lesson's cameras inside its window */
  seen: Set<string>;
}

/**
 * Per-camera recordings, merged once (tolerance 0 for "is this instant recorded", the
 * profile tolerance for continuity), so each lesson and each sighting is a cheap lookup.
 */
export class CoverageIndex {
  private exact = new Map<string, Interval[]>();
  private continuous = new Map<string, Interval[]>();
  private all: Interval[];

  constructor(evidence: Pick<Evidence, 'recordings'>, toleranceMs: number) {
    const byCam = new Map<string, Interval[]>();
    for (const r of evidence.recordings) {
      const l = byCam.get(r.camera) ?? [];
      l.push({ start: r.start, end: r.end });
      byCam.set(r.camera, l);
    }
    for (const [cam, list] of byCam) {
      this.exact.set(cam, union(list));
      this.continuous.set(cam, union(list, toleranceMs));
    }
    this.all = union(evidence.recordings);
  }

  cameras(lesson: Lesson): string[] {
    return lesson.cameras.length ? lesson.cameras : [...this.exact.keys()];
  }

  /** Union of the recordings of the lesson's cameras (any camera when it lists none), inside the lesson. */
  recordedIn(lesson: Lesson): Interval[] {
    if (!lesson.cameras.length) return clip(this.all, lesson);
    return union(lesson.cameras.flatMap((c) => clip(this.exact.get(c) ?? [], lesson)));
  }

  isRecorded(camera: string, at: number): boolean {
    const l = this.exact.get(camera);
    return !!l && coversSorted(l, at);
  }

  /** Longest continuous stretch on one camera inside the lesson (stretches merged with the profile tolerance). */
  longestOnOneCamera(lesson: Lesson): number {
    let best = 0;
    for (const cam of this.cameras(lesson)) {
      for (const s of clip(this.continuous.get(cam) ?? [], lesson)) best = Math.max(best, s.end - s.start);
    }
    return best;
  }
}

/**
 * Coverage of every lesson. Sightings count only inside the lesson's half-open window, on one
 * of its cameras, at an instant that camera's recordings cover: video not recorded proves nothing.
 */
export function lessonCoverage(e: Evidence, toleranceMs: number): LessonCoverage[] {
  const idx = new CoverageIndex(e, toleranceMs);
  const seen = e.lessons.map(() => new Set<string>());
  // Lessons sorted by start, with the running maximum of their ends: each sighting finds the
  // lessons containing it by one binary search and a short walk back (lessons rarely overlap).
  // Cheaper than sorting 100,000 sightings.
  const order = e.lessons.map((_, i) => i).sort((a, b) => e.lessons[a].start - e.lessons[b].start);
  const starts = order.map((i) => e.lessons[i].start);
  const maxEnd: number[] = [];
  order.forEach((i, k) => maxEnd.push(Math.max(k ? maxEnd[k - 1] : -Infinity, e.lessons[i].end)));
  const camSets = e.lessons.map((l) => (l.cameras.length ? new Set(l.cameras) : undefined));

  for (const s of e.sightings) {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= s.at) lo = mid + 1;
      else hi = mid;
    }
    let recorded: boolean | undefined;
    for (let k = lo - 1; k >= 0 && maxEnd[k] > s.at; k--) {
      const li = order[k];
      const l = e.lessons[li];
      if (l.kind === 'online' || s.at >= l.end) continue;
      const cams = camSets[li];
      if (cams && !cams.has(s.camera)) continue;
      recorded ??= idx.isRecorded(s.camera, s.at);
      if (recorded) seen[li].add(s.trainee);
    }
  }

  return e.lessons.map((lesson, i) => {
    if (lesson.kind === 'online') return { lesson, recordedMs: 0, uncoveredMs: 0, longestContinuousMs: 0, seen: new Set<string>() };
    const recorded = idx.recordedIn(lesson);
    return {
      lesson,
      recordedMs: measure(recorded),
      uncoveredMs: measure(complement(recorded, lesson)),
      longestContinuousMs: idx.longestOnOneCamera(lesson),
      seen: seen[i],
    };
  });
}
