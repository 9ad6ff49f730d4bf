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
  /** the face's box in the analysed frame (reviewable evidence) */
  box?: { x: number; y: number; width: number; height: number };
  /** the track (same face followed across frames) this match belongs to */
  track?: string;
}
export interface FrameCount {
  camera: string;
  at: number;
  recordingId?: number;
  offsetMs?: number;
  classId?: string;
  lessonId?: string;
  /** every face found, identifiable or not (the headcount) */
  faces: number;
  matched: number;
  /** faces - matched: unidentified, whether too small or not recognised */
  unknown: number;
  /** of the unknown: faces too small to identify (counted, never guessed) */
  small?: number;
}
export interface SegmentRef {
  id: number;
  camera: string;
  path: string;
  start: number;
  end: number;
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
   * later enrollment (addDescriptors) and match (recordFrame) is refused until a new consent.
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
      this.store.db.prepare('DELETE FROM face_crops WHERE trainee = ?').run(trainee);
      for (const id of ids) log.removed('face_matches', [id]);
      this.consentEvent(trainee, 'withdrawn', at, c, d + m);
      return d;
    });
    this.store.scrub();
    return n;
  }

  /**
   * Store descriptors; refused (nothing written) without a standing consent. `consent`, when
   * given, is recorded in the same transaction: consent taken at the enrollment desk is written
   * only together with the face data it covers, never for a refused photo.
   */
  addDescriptors(trainee: string, rows: readonly DescriptorInput[], replace: boolean, consent?: { input: ConsentInput; at: number }): void {
    const now = this.store.now();
    this.store.tx(() => {
      if (consent) this.giveConsent(trainee, consent.input, consent.at);
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
    return (
      this.store.db
        // only under a standing consent: a withdrawn consent stops matching even if rows were left behind
        .prepare(
          `SELECT d.id, d.trainee, d.model, d.iv, d.tag, d.data FROM face_descriptors d JOIN face_consents c ON c.trainee = d.trainee AND c.revoked_ms IS NULL
         WHERE d.model = ? AND d.trainee IN (${trainees.map(() => '?').join(',')}) ORDER BY d.trainee, d.id`,
        )
        .all(model, ...trainees) as DescriptorRow[]
    );
  }

  /**
   * Sealed descriptors taken from classroom video (a technician's confirmed sightings) of one
   * model, every trainee's under a standing consent: calibration's per-camera evidence.
   */
  classroomDescriptors(model: string): (DescriptorRow & { source: string })[] {
    return this.store.db
      .prepare(
        `SELECT d.id, d.trainee, d.model, d.iv, d.tag, d.data, d.source FROM face_descriptors d JOIN face_consents c ON c.trainee = d.trainee AND c.revoked_ms IS NULL
         WHERE d.model = ? AND d.source LIKE 'classroom:%' ORDER BY d.trainee, d.id`,
      )
      .all(model) as (DescriptorRow & { source: string })[];
  }

  /** Enrolled trainees and their descriptor counts, per model. */
  enrollment(): { trainee: string; model: string; n: number }[] {
    return this.store.db.prepare('SELECT trainee, model, COUNT(*) AS n FROM face_descriptors GROUP BY trainee, model ORDER BY trainee').all() as {
      trainee: string;
      model: string;
      n: number;
    }[];
  }

  roster(classId: string): string[] {
    return this.store.db.prepare('SELECT id FROM trainees WHERE class_id = ? ORDER BY id').pluck().all(classId) as string[];
  }

  /** The classes whose roster lists this trainee (enrollment refuses a trainee in none). */
  classesOf(trainee: string): string[] {
    return this.store.db.prepare('SELECT DISTINCT class_id FROM trainees WHERE id = ? ORDER BY class_id').pluck().all(trainee) as string[];
  }

  /** One indexed recording, for `vision scan`. */
  recording(id: number): SegmentRef | undefined {
    return this.store.db.prepare('SELECT id, camera, path, start_ms AS start, end_ms AS end FROM recordings WHERE id = ? AND deleted_ms IS NULL').get(id) as SegmentRef | undefined;
  }

  /** Recordings ending after `from` that no frame analysis refers to yet (catch-up after a restart). */
  unanalysedRecordings(from: number): SegmentRef[] {
    return this.store.db
      .prepare(
        `SELECT id, camera, path, start_ms AS start, end_ms AS end FROM recordings r
         WHERE r.end_ms > ? AND r.deleted_ms IS NULL AND NOT EXISTS (SELECT 1 FROM vision_frames v WHERE v.recording_id = r.id)
         ORDER BY r.start_ms`,
      )
      .all(from) as SegmentRef[];
  }

  /**
   * Record one analysed frame: its headcount and its matches; then promote to sightings every
   * (lesson, trainee) whose matches now span at least `minFrames` distinct frames. All in one
   * transaction, so a crash never leaves matches promoted twice or counted without their frame.
   * Idempotent per (recording, offset, lesson): a re-scan replaces the frame's headcount and
   * skips the matches already there, so it never doubles a sighting (only a trainee newly
   * matched, e.g. after a new enrollment, adds one). Returns the sightings written.
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
      const upsert = db
        .prepare(
          `INSERT INTO vision_frames (camera, at_ms, recording_id, offset_ms, class_id, lesson_id, faces, matched, unknown, small, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (recording_id, offset_ms, lesson_id) WHERE recording_id IS NOT NULL
         DO UPDATE SET faces = excluded.faces, matched = excluded.matched, unknown = excluded.unknown, small = excluded.small`,
        )
        .run(
          frame.camera,
          frame.at,
          frame.recordingId ?? null,
          frame.offsetMs ?? null,
          frame.classId ?? null,
          frame.lessonId ?? null,
          frame.faces,
          frame.matched,
          frame.unknown,
          frame.small ?? 0,
          now,
          this.store.expiresAt(frame.at),
        );
      // a re-scan replaces a frame's headcount: the log gets a correction pointing at the earlier entry
      const frameId =
        frame.recordingId != null
          ? (db
              .prepare('SELECT id FROM vision_frames WHERE recording_id = ? AND offset_ms IS ? AND lesson_id IS ?')
              .pluck()
              .get(frame.recordingId, frame.offsetMs ?? null, frame.lessonId ?? null) as number)
          : Number(upsert.lastInsertRowid);
      log.row('vision_frames', [frameId]);
      const ins = db.prepare(
        `INSERT INTO face_matches (class_id, lesson_id, trainee, camera, at_ms, recording_id, offset_ms, distance, margin, box, track, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (recording_id, offset_ms, lesson_id, trainee) WHERE recording_id IS NOT NULL DO NOTHING`,
      );
      const fresh: FrameMatch[] = [];
      for (const m of matches) {
        const r = ins.run(
          m.classId,
          m.lessonId,
          m.trainee,
          m.camera,
          m.at,
          m.recordingId ?? null,
          m.offsetMs ?? null,
          m.distance,
          m.margin,
          m.box ? JSON.stringify(m.box) : null,
          m.track ?? null,
          now,
          this.store.expiresAt(m.at),
        );
        if (r.changes) {
          fresh.push(m);
          log.row('face_matches', [Number(r.lastInsertRowid)], { fresh: true });
        }
      }
      const out: SightingRow[] = [];
      const keys = new Set(fresh.map((m) => JSON.stringify([m.classId, m.lessonId, m.trainee])));
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

  /** One match with its recording's file (for `vision confirm`: the face is taken again from the video). */
  match(id: number): { id: number; trainee: string; camera: string; recordingId: number; offsetMs: number; box: string | null; path: string } | undefined {
    return this.store.db
      .prepare(
        `SELECT m.id, m.trainee, m.camera, m.recording_id AS recordingId, m.offset_ms AS offsetMs, m.box, r.path FROM face_matches m
         JOIN recordings r ON r.id = m.recording_id AND r.deleted_ms IS NULL WHERE m.id = ?`,
      )
      .get(id) as { id: number; trainee: string; camera: string; recordingId: number; offsetMs: number; box: string | null; path: string } | undefined;
  }

  /** The match row of one face in one frame (to attach its crop or show its evidence). */
  matchId(recordingId: number, offsetMs: number, lessonId: string, trainee: string): number | undefined {
    return this.store.db.prepare('SELECT id FROM face_matches WHERE recording_id = ? AND offset_ms = ? AND lesson_id = ? AND trainee = ?').pluck().get(recordingId, offsetMs, lessonId, trainee) as
      | number
      | undefined;
  }

  /**
   * Keep the matched face's crop (already sealed by vision) beside its match, for the console's
   * reviewer. Only under a standing consent; expires with the match; deleted with the trainee's
   * face data on withdrawal. Returns false (nothing stored) without consent or when present.
   */
  addMatchCrop(matchId: number, trainee: string, crop: Sealed): boolean {
    return this.store.tx(() => {
      if (!this.hasConsent(trainee)) return false;
      const m = this.store.db.prepare('SELECT expires_ms FROM face_matches WHERE id = ? AND trainee = ?').get(matchId, trainee) as { expires_ms: number } | undefined;
      if (!m) return false;
      return (
        this.store.db
          .prepare('INSERT INTO face_crops (match_id, trainee, iv, tag, data, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(match_id) DO NOTHING')
          .run(matchId, trainee, crop.iv, crop.tag, crop.data, this.store.now(), m.expires_ms).changes === 1
      );
    });
  }

  /** A sealed crop, for the console (which opens it with vision's key, for roles allowed to see faces). */
  matchCrop(matchId: number): ({ trainee: string } & Sealed) | undefined {
    return this.store.db.prepare('SELECT trainee, iv, tag, data FROM face_crops WHERE match_id = ?').get(matchId) as ({ trainee: string } & Sealed) | undefined;
  }

  /**
   * What a reviewer needs to check the sightings of a trainee in a lesson: each agreeing
   * frame (recording + offset to replay it), the face's box, distance, margin, the track, and
   * whether a crop is kept.
   */
  sightingEvidence(classId: string, lessonId: string, trainee: string) {
    return (
      this.store.db
        .prepare(
          `SELECT m.id, m.camera, m.at_ms AS at, m.recording_id AS recordingId, m.offset_ms AS offsetMs, m.distance, m.margin, m.box, m.track,
             m.promoted_ms IS NOT NULL AS promoted, c.match_id IS NOT NULL AS hasCrop
           FROM face_matches m LEFT JOIN face_crops c ON c.match_id = m.id
           WHERE m.class_id = ? AND m.lesson_id = ? AND m.trainee = ? ORDER BY m.at_ms`,
        )
        .all(classId, lessonId, trainee) as {
        id: number;
        camera: string;
        at: number;
        recordingId: number | null;
        offsetMs: number | null;
        distance: number;
        margin: number;
        box: string | null;
        track: string | null;
        promoted: number;
        hasCrop: number;
      }[]
    ).map((r) => ({ ...r, box: r.box ? (JSON.parse(r.box) as { x: number; y: number; width: number; height: number }) : null, promoted: !!r.promoted, hasCrop: !!r.hasCrop }));
  }

  headcount(camera: string, from: number, to: number): { at_ms: number; faces: number; matched: number; unknown: number; small: number }[] {
    return this.store.db.prepare('SELECT at_ms, faces, matched, unknown, small FROM vision_frames WHERE camera = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms').all(camera, from, to) as {
      at_ms: number;
      faces: number;
      matched: number;
      unknown: number;
      small: number;
    }[];
  }
}
