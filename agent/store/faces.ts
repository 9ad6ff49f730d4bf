import type { Store } from './store.js';
import { EvidenceRepo, type SightingRow } from './evidence.js';
import type { Sealed } from '../vision/keyfile.js';
import { evidenceLog } from './evidence-log.js';

export interface ConsentInput {
  recordedBy: string;
  method: string;
  guardian?: boolean;
  note?: string;
}
export interface ConsentRow {
  trainee: string;
  given_ms: number;
  recorded_by: string;
  method: string;
  guardian: number;
  note: string | null;
  revoked_ms: number | null;
}
export interface DescriptorInput {
  model: string;
  sealed: Sealed;
  source: string;
  facePx: number;
  sharpness: number;
  photo?: Sealed;
}
export interface DescriptorRow {
  id: number;
  trainee: string;
  model: string;
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}
export interface FrameMatch {
  classId: string;
  lessonId: string;
  trainee: string;
  camera: string;
  at: number;
  recordingId?: number;
  offsetMs?: number;
  distance: number;
  margin: number;
}
export interface FrameCount {
  camera: string;
  at: number;
  recordingId?: number;
  offsetMs?: number;
  classId?: string;
  lessonId?: string;
  faces: number;
  matched: number;
  unknown: number;
}

/**
 * Face data (consents, sealed descriptors) and the vision module's per-frame evidence.
 * Descriptors arrive here already encrypted; this repository never sees plaintext face data.
 */
export class FaceRepo {
  constructor(private store: Store) {}

  giveConsent(trainee: string, c: ConsentInput, at: number): void {
    this.store.tx(() => {
      this.consentEvent(trainee, 'given', at, c, 0);
      this.store.db
      .prepare(
        `INSERT INTO face_consents (trainee, given_ms, recorded_by, method, guardian, note, revoked_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
         ON CONFLICT(trainee) DO UPDATE SET given_ms=excluded.given_ms, recorded_by=excluded.recorded_by, method=excluded.method,
           guardian=excluded.guardian, note=excluded.note, revoked_ms=NULL`,
      )
      .run(trainee, at, c.recordedBy, c.method, c.guardian ? 1 : 0, c.note ?? null, this.store.now());
      evidenceLog(this.store).row('face_consents', [trainee]);
    });
  }

  private consentEvent(trainee: string, kind: 'given' | 'withdrawn', at: number, c: Partial<ConsentInput>, deleted: number): void {
    this.store.db
      .prepare('INSERT INTO face_consent_events (trainee, kind, at_ms, recorded_by, method, note, deleted, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(trainee, kind, at, c.recordedBy ?? null, c.method ?? null, c.note ?? null, deleted, this.store.now());
  }

  /** Every consent given and withdrawn for this trainee, oldest first. */
  consentHistory(trainee: string): { kind: string; at_ms: number; recorded_by: string | null; method: string | null; deleted: number }[] {
    return this.store.db.prepare('SELECT kind, at_ms, recorded_by, method, deleted FROM face_consent_events WHERE trainee = ? ORDER BY at_ms, id').all(trainee) as {
      kind: string;
      at_ms: number;
      recorded_by: string | null;
      method: string | null;
      deleted: number;
    }[];
  }

  consent(trainee: string): ConsentRow | undefined {
    return this.store.db.prepare('SELECT * FROM face_consents WHERE trainee = ?').get(trainee) as ConsentRow | undefined;
  }

  hasConsent(trainee: string): boolean {
    const c = this.consent(trainee);
    return !!c && c.revoked_ms === null;
  }

  /**
   * Withdrawing consent deletes the trainee's face data at once: sealed descriptors (and photos)
   * and the per-frame face matches; the withdrawal is recorded (face_consent_events), and every
   * later enrolment (addDescriptors) and match (recordFrame) is refused until a new consent.
   * Sightings already made stay: they are evidence that the trainee was present, not face data.
   * The deleted bytes are overwritten (secure_delete) and the WAL truncated, so no file keeps
   * them; returns the descriptors deleted.
   */
  revokeConsent(trainee: string, at: number, c: Partial<ConsentInput> = {}): number {
    const n = this.store.tx(() => {
      const log = evidenceLog(this.store);
      if (this.store.db.prepare('UPDATE face_consents SET revoked_ms = ? WHERE trainee = ?').run(at, trainee).changes) log.row('face_consents', [trainee]);
      const d = this.store.db.prepare('DELETE FROM face_descriptors WHERE trainee = ?').run(trainee).changes;
      // face matches are evidential rows: each deletion is logged as removed (withdrawal, not retention)
      const ids = this.store.db.prepare('SELECT id FROM face_matches WHERE trainee = ?').pluck().all(trainee) as number[];
      const m = this.store.db.prepare('DELETE FROM face_matches WHERE trainee = ?').run(trainee).changes;
      for (const id of ids) log.removed('face_matches', [id]);
      this.consentEvent(trainee, 'withdrawn', at, c, d + m);
      return d;
    });
    this.store.scrub();
    return n;
  }

  /** Store descriptors; refused (nothing written) without a standing consent. */
  addDescriptors(trainee: string, rows: readonly DescriptorInput[], replace: boolean): void {
    const now = this.store.now();
    this.store.tx(() => {
      if (!this.hasConsent(trainee)) throw new Error(`no face-recognition consent recorded for trainee ${trainee}`);
      if (replace) this.store.db.prepare('DELETE FROM face_descriptors WHERE trainee = ?').run(trainee);
      const ins = this.store.db.prepare(
        'INSERT INTO face_descriptors (trainee, model, iv, tag, data, source, face_px, sharpness, photo_iv, photo_tag, photo, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (const r of rows) {
        ins.run(trainee, r.model, r.sealed.iv, r.sealed.tag, r.sealed.data, r.source, Math.round(r.facePx), r.sharpness, r.photo?.iv ?? null, r.photo?.tag ?? null, r.photo?.data ?? null, now);
      }
    });
  }

  /** Sealed descriptors of these trainees for one model (those of other models are not comparable). */
  descriptors(trainees: readonly string[], model: string): DescriptorRow[] {
    if (!trainees.length) return [];
    return this.store.db
      .prepare(`SELECT id, trainee, model, iv, tag, data FROM face_descriptors WHERE model = ? AND trainee IN (${trainees.map(() => '?').join(',')}) ORDER BY trainee, id`)
      .all(model, ...trainees) as DescriptorRow[];
  }

  /** Enrolled trainees and their descriptor counts, per model. */
  enrolment(): { trainee: string; model: string; n: number }[] {
    return this.store.db.prepare('SELECT trainee, model, COUNT(*) AS n FROM face_descriptors GROUP BY trainee, model ORDER BY trainee').all() as {
      trainee: string;
      model: string;
      n: number;
    }[];
  }

  roster(classId: string): string[] {
    return this.store.db.prepare('SELECT id FROM trainees WHERE class_id = ? ORDER BY id').pluck().all(classId) as string[];
  }

  /**
   * Record one analysed frame: its headcount and its matches; then promote to sightings every
   * (lesson, trainee) whose matches now span at least `minFrames` distinct frames. All in one
   * transaction, so a crash never leaves matches promoted twice or counted without their frame.
   * Returns the sightings written.
   */
  recordFrame(frame: FrameCount, matches: readonly FrameMatch[], minFrames: number): SightingRow[] {
    const db = this.store.db;
    const now = this.store.now();
    // a match of a trainee without standing consent is dropped here, whatever gallery a caller cached
    const consented = new Map<string, boolean>();
    matches = matches.filter((m) => {
      if (!consented.has(m.trainee)) consented.set(m.trainee, this.hasConsent(m.trainee));
      return consented.get(m.trainee);
    });
    return this.store.tx(() => {
      const log = evidenceLog(this.store);
      const frameId = db.prepare(
        'INSERT INTO vision_frames (camera, at_ms, recording_id, offset_ms, class_id, lesson_id, faces, matched, unknown, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(frame.camera, frame.at, frame.recordingId ?? null, frame.offsetMs ?? null, frame.classId ?? null, frame.lessonId ?? null, frame.faces, frame.matched, frame.unknown, now, this.store.expiresAt(frame.at)).lastInsertRowid;
      log.row('vision_frames', [Number(frameId)], { fresh: true });
      const ins = db.prepare(
        'INSERT INTO face_matches (class_id, lesson_id, trainee, camera, at_ms, recording_id, offset_ms, distance, margin, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (const m of matches) {
        const id = ins.run(m.classId, m.lessonId, m.trainee, m.camera, m.at, m.recordingId ?? null, m.offsetMs ?? null, m.distance, m.margin, now, this.store.expiresAt(m.at)).lastInsertRowid;
        log.row('face_matches', [Number(id)], { fresh: true });
      }
      const out: SightingRow[] = [];
      const keys = new Set(matches.map((m) => JSON.stringify([m.classId, m.lessonId, m.trainee])));
      for (const k of keys) {
        const [classId, lessonId, trainee] = JSON.parse(k) as [string, string, string];
        const frames = db.prepare('SELECT COUNT(DISTINCT camera || at_ms) FROM face_matches WHERE class_id = ? AND lesson_id = ? AND trainee = ?').pluck().get(classId, lessonId, trainee) as number;
        if (frames < minFrames) continue;
        const rows = db
          .prepare('SELECT id, camera, at_ms, recording_id, offset_ms, distance, margin FROM face_matches WHERE class_id = ? AND lesson_id = ? AND trainee = ? AND promoted_ms IS NULL ORDER BY at_ms')
          .all(classId, lessonId, trainee) as { id: number; camera: string; at_ms: number; recording_id: number | null; offset_ms: number | null; distance: number; margin: number }[];
        for (const r of rows) {
          out.push({ trainee, classId, camera: r.camera, at: r.at_ms, recordingId: r.recording_id ?? undefined, offsetMs: r.offset_ms ?? undefined, distance: r.distance, margin: r.margin });
        }
        db.prepare('UPDATE face_matches SET promoted_ms = ? WHERE class_id = ? AND lesson_id = ? AND trainee = ? AND promoted_ms IS NULL').run(now, classId, lessonId, trainee);
      }
      if (out.length) new EvidenceRepo(this.store).addSightings(out);
      return out;
    });
  }

  headcount(camera: string, from: number, to: number): { at_ms: number; faces: number; matched: number; unknown: number }[] {
    return this.store.db.prepare('SELECT at_ms, faces, matched, unknown FROM vision_frames WHERE camera = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms').all(camera, from, to) as {
      at_ms: number;
      faces: number;
      matched: number;
      unknown: number;
    }[];
  }
}
