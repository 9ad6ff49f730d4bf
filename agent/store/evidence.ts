import type { Store } from './store.js';
import { Outbox } from './outbox.js';
import { evidenceLog } from './evidence-log.js';
import type { Verdict } from '../compliance/evidence.js';
import { classVerdictData, lessonVerdictData } from '../sync/records.js';

export interface SightingRow {
  trainee: string;
  classId?: string;
  camera: string;
  at: number;
  recordingId?: number;
  offsetMs?: number;
  distance?: number;
  margin?: number;
}

export interface RecordingRow {
  camera: string;
  runId?: number;
  path: string;
  start: number;
  end: number;
  bytes: number;
  sha256: string;
  recovered?: boolean;
}

/**
 * Writes of evidence: recorded segments, sightings, verdicts. Each write that the provincial
 * system must receive enqueues its outbox record in the same transaction.
 */
export class EvidenceRepo {
  private outbox: Outbox;
  private insSighting;
  private insRecording;
  constructor(private store: Store) {
    this.outbox = new Outbox(store);
    this.insSighting = store.db.prepare(
      'INSERT INTO sightings (trainee, class_id, camera, at_ms, recording_id, offset_ms, distance, margin, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insRecording = store.db.prepare(
      'INSERT INTO recordings (camera, run_id, path, start_ms, end_ms, bytes, sha256, recovered, created_ms, expires_ms, sync_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /**
   * Sightings in one durable transaction. They are not sent one by one: the provincial system
   * receives per-lesson presence (who was seen in which lesson), derived from them.
   */
  addSightings(rows: readonly SightingRow[]): void {
    const now = this.store.now();
    this.store.tx(() => {
      const log = evidenceLog(this.store);
      for (const s of rows) {
        const id = this.insSighting.run(
          s.trainee,
          s.classId ?? null,
          s.camera,
          s.at,
          s.recordingId ?? null,
          s.offsetMs ?? null,
          s.distance ?? null,
          s.margin ?? null,
          now,
          this.store.expiresAt(s.at),
        ).lastInsertRowid;
        log.row('sightings', [Number(id)], { fresh: true });
      }
    });
  }

  /** One recorded segment, indexed, with its outbox record (path stays on the box). */
  addRecording(r: RecordingRow): number {
    const now = this.store.now();
    return this.store.tx(() => {
      const id = Number(
        this.insRecording.run(r.camera, r.runId ?? null, r.path, r.start, r.end, r.bytes, r.sha256, r.recovered ? 1 : 0, now, this.store.expiresAt(r.start), 'pending').lastInsertRowid,
      );
      evidenceLog(this.store).row('recordings', [id], { fresh: true });
      this.outbox.enqueue('segment', r.start, { id, camera: r.camera, start: r.start, end: r.end, bytes: r.bytes, sha256: r.sha256, recovered: !!r.recovered });
      return id;
    });
  }

  saveVerdict(v: Verdict, computedAt: number, lessonId?: string): void {
    const now = this.store.now();
    this.store.tx(() => {
      const id = this.store.db
        .prepare('INSERT INTO verdicts (class_id, lesson_id, eligible, body, computed_ms, created_ms, expires_ms, sync_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        // a lesson's row says whether that lesson broke a rule, not whether the class is eligible
        .run(
          v.classId,
          lessonId ?? null,
          (lessonId ? !v.violations.some((f) => f.lesson === lessonId) : v.eligible) ? 1 : 0,
          JSON.stringify(v),
          computedAt,
          now,
          this.store.expiresAt(computedAt),
          'pending',
        ).lastInsertRowid;
      evidenceLog(this.store).row('verdicts', [Number(id)], { fresh: true });
      if (lessonId) this.outbox.enqueue('lesson-verdict', computedAt, lessonVerdictData(v, lessonId));
      else this.outbox.enqueue('class-verdict', computedAt, classVerdictData(v));
    });
  }
}
