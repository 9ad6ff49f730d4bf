import { clip, complement, coversSorted, longestContinuous, measure, union, type Interval } from './intervals.js';
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
  private all: Interval[];

  constructor(evidence: Pick<Evidence, 'recordings'>) {
    const byCam = new Map<string, Interval[]>();
    for (const r of evidence.recordings) {
      const l = byCam.get(r.camera) ?? [];
      l.push({ start: r.start, end: r.end });
      byCam.set(r.camera, l);
    }
    for (const [cam, list] of byCam) this.exact.set(cam, union(list));
    this.all = union(evidence.recordings);
  }

  cameras(lesson: Lesson): string[] {
    return lesson.cameras.length ? lesson.cameras : [...this.exact.keys()];
  }

  /** Union of the recordings of the lesson's cameras (any camera when it lists none). */
  recordedOf(lesson: Lesson): Interval[] {
    if (!lesson.cameras.length) return this.all;
    return union(lesson.cameras.flatMap((c) => this.exact.get(c) ?? []));
  }

  isRecorded(camera: string, at: number): boolean {
    const l = this.exact.get(camera);
    return !!l && coversSorted(l, at);
  }

  longestOnOneCamera(lesson: Lesson, toleranceMs: number): number {
    let best = 0;
    for (const cam of this.cameras(lesson)) {
      best = Math.max(best, longestContinuous(this.exact.get(cam) ?? [], lesson, toleranceMs));
    }
    return best;
  }
}

/**
 * Coverage of every lesson. Sightings count only inside the lesson's half-open window, on one
 * of its cameras, at an instant that camera's recordings cover: video not recorded proves nothing.
 */
export function lessonCoverage(e: Evidence, toleranceMs: number): LessonCoverage[] {
  const idx = new CoverageIndex(e);
  const sightings = [...e.sightings].sort((a, b) => a.at - b.at);
  const firstAtOrAfter = (t: number) => {
    let lo = 0;
    let hi = sightings.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sightings[mid].at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  return e.lessons.map((lesson) => {
    const seen = new Set<string>();
    if (lesson.kind === 'online') return { lesson, recordedMs: 0, uncoveredMs: 0, longestContinuousMs: 0, seen };
    const recorded = idx.recordedOf(lesson);
    const cams = lesson.cameras.length ? new Set(lesson.cameras) : undefined;
    for (let k = firstAtOrAfter(lesson.start); k < sightings.length && sightings[k].at < lesson.end; k++) {
      const s = sightings[k];
      if (cams && !cams.has(s.camera)) continue;
      if (idx.isRecorded(s.camera, s.at)) seen.add(s.trainee);
    }
    return {
      lesson,
      recordedMs: measure(clip(recorded, lesson)),
      uncoveredMs: measure(complement(recorded, lesson)),
      longestContinuousMs: idx.longestOnOneCamera(lesson, toleranceMs),
      seen,
    };
  });
}
