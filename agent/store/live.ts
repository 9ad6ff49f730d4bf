import type { Recording, Sighting } from '../compliance/evidence.js';
import type { Store } from './store.js';

/** Longest segment the store may hold (recorder.segmentSeconds max is 600 s; recovered files may run longer). */
export const MAX_SEGMENT_MS = 6 * 3_600_000;

/**
 * Reads the live-lesson monitor needs on every tick: the recordings, gaps and sightings of one
 * lesson window, and which lessons and classes still lack a verdict. Small indexed queries, so a
 * tick every few seconds costs milliseconds even with years of evidence in the store.
 */
export class LiveRepo {
  constructor(private store: Store) {}

  /**
   * Recordings overlapping [from, to). The start is bounded too (a segment is never longer than
   * MAX_SEGMENT_MS), so the (camera, start_ms) index reads only the window, not the camera's
   * whole history: a tick stays cheap on a store holding 3 years of segments.
   */
  recordings(cameras: readonly string[], from: number, to: number): Recording[] {
    const db = this.store.db;
    const floor = from - MAX_SEGMENT_MS;
    const rows = (
      cameras.length
        ? db
            .prepare(
              `SELECT camera, start_ms, end_ms FROM recordings WHERE camera IN (${cameras.map(() => '?').join(',')}) AND start_ms >= ? AND start_ms < ? AND end_ms > ? AND deleted_ms IS NULL ORDER BY start_ms`,
            )
            .all(...cameras, floor, to, from)
        : db.prepare('SELECT camera, start_ms, end_ms FROM recordings WHERE start_ms >= ? AND start_ms < ? AND end_ms > ? AND deleted_ms IS NULL ORDER BY start_ms').all(floor, to, from)
    ) as {
      camera: string;
      start_ms: number;
      end_ms: number;
    }[];
    return rows.map((r) => ({ camera: r.camera, start: r.start_ms, end: r.end_ms }));
  }

  /** End of the newest indexed segment of each of these cameras (one index lookup each). */
  lastSegmentEnds(cameras: Iterable<string>): Map<string, number> {
    const q = this.store.db.prepare('SELECT end_ms FROM recordings WHERE camera = ? ORDER BY start_ms DESC LIMIT 1').pluck();
    const out = new Map<string, number>();
    for (const c of cameras) {
      const e = q.get(c) as number | undefined;
      if (e !== undefined) out.set(c, e);
    }
    return out;
  }

  /** Cameras that ever recorded (from the cameras table and recent segments), for lessons that list none. */
  knownCameras(since: number): string[] {
    const a = this.store.db.prepare('SELECT id FROM cameras').pluck().all() as string[];
    const b = this.store.db.prepare('SELECT DISTINCT camera FROM recordings WHERE start_ms >= ?').pluck().all(since) as string[];
    return [...new Set([...a, ...b])];
  }

  /** Cameras with a gap still open (the recorder says they are down). */
  openGaps(): Set<string> {
    return new Set(this.store.db.prepare('SELECT DISTINCT camera FROM recording_gaps WHERE end_ms IS NULL').pluck().all() as string[]);
  }

  sightings(classId: string, from: number, to: number): Sighting[] {
    const rows = this.store.db
      .prepare(
        'SELECT s.trainee, s.camera, s.at_ms FROM sightings s JOIN trainees t ON t.class_id = ? AND t.id = s.trainee WHERE s.at_ms >= ? AND s.at_ms < ? AND (s.class_id IS NULL OR s.class_id = ?)',
      )
      .all(classId, from, to, classId) as { trainee: string; camera: string; at_ms: number }[];
    return rows.map((r) => ({ trainee: r.trainee, camera: r.camera, at: r.at_ms }));
  }

  trainees(classId: string): string[] {
    return this.store.db.prepare('SELECT id FROM trainees WHERE class_id = ? ORDER BY id').pluck().all(classId) as string[];
  }

  classRoom(classId: string): string | null {
    return (this.store.db.prepare('SELECT room FROM classes WHERE id = ?').pluck().get(classId) as string | null | undefined) ?? null;
  }

  /** The body of the newest verdict of a class (lessonId null) or of one of its lessons. */
  latestVerdict(classId: string, lessonId: string | null): string | undefined {
    return (
      lessonId === null
        ? this.store.db.prepare('SELECT body FROM verdicts WHERE class_id = ? AND lesson_id IS NULL ORDER BY id DESC LIMIT 1').pluck().get(classId)
        : this.store.db.prepare('SELECT body FROM verdicts WHERE class_id = ? AND lesson_id = ? ORDER BY id DESC LIMIT 1').pluck().get(classId, lessonId)
    ) as string | undefined;
  }

  /** Classes with a lesson ended before `endedBefore` that has no lesson verdict, or all lessons ended and no class verdict. */
  classesMissingVerdicts(endedBefore: number, limit = 50): string[] {
    return this.store.db
      .prepare(
        `SELECT DISTINCT class_id FROM (
           SELECT l.class_id FROM lessons l WHERE l.end_ms <= @t
             AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.class_id = l.class_id AND v.lesson_id = l.id)
           UNION
           SELECT l.class_id FROM lessons l GROUP BY l.class_id HAVING MAX(l.end_ms) <= @t
             AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.class_id = l.class_id AND v.lesson_id IS NULL)
         ) LIMIT @limit`,
      )
      .pluck()
      .all({ t: endedBefore, limit }) as string[];
  }

  /** Lessons overlapping [from, to) on this camera (or listing no camera): footage of them. */
  lessonsForFootage(camera: string, from: number, to: number): { classId: string; end: number }[] {
    const rows = this.store.db.prepare('SELECT class_id, end_ms, cameras FROM lessons WHERE start_ms < ? AND end_ms > ?').all(to, from) as { class_id: string; end_ms: number; cameras: string }[];
    return rows
      .filter((r) => {
        const c = JSON.parse(r.cameras) as string[];
        return !c.length || c.includes(camera);
      })
      .map((r) => ({ classId: r.class_id, end: r.end_ms }));
  }

  /** Classes the trainee belongs to, with the end of each class's last lesson. */
  classesOfTrainee(trainee: string): { classId: string; end: number }[] {
    return this.store.db.prepare('SELECT t.class_id AS classId, MAX(l.end_ms) AS end FROM trainees t JOIN lessons l ON l.class_id = t.class_id WHERE t.id = ? GROUP BY t.class_id').all(trainee) as {
      classId: string;
      end: number;
    }[];
  }

  recordingSpan(id: number): { camera: string; start: number; end: number } | undefined {
    const r = this.store.db.prepare('SELECT camera, start_ms, end_ms FROM recordings WHERE id = ?').get(id) as { camera: string; start_ms: number; end_ms: number } | undefined;
    return r && { camera: r.camera, start: r.start_ms, end: r.end_ms };
  }
}
