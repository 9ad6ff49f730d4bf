import fs from 'node:fs';
import type { Store } from './store.js';
import { evidenceLog, FACTS } from './evidence-log.js';

/**
 * What the retention policy may purge, table by table, in the order that keeps foreign keys
 * valid. Every evidence condition starts with `expires_ms < @now`: nothing unexpired is ever
 * deleted. Face data is the exception, purged earlier: it serves recognition, not evidence
 * (the sightings it produced are the evidence). Every table of the store is listed here or in
 * RETAINED_WITH below; a test checks that no table is forgotten.
 * Extra conditions keep rows whose job is not done: a recording row stays until its file is
 * deleted (or archived and deleted), an open alarm or gap stays open, an outbox record stays
 * until the provincial system acknowledged it.
 */
/** Face descriptors outlive the last lesson of the trainee's classes by this long (late reviews, re-runs). */
export const FACE_GRACE_MS = 30 * 86_400_000;
const TRAINEE_GONE = (t: string) => `NOT EXISTS (SELECT 1 FROM trainees tr WHERE tr.id = ${t}.trainee AND tr.expires_ms >= @now)`;
const FACE_GONE = (t: string) =>
  `NOT EXISTS (SELECT 1 FROM trainees tr WHERE tr.id = ${t}.trainee AND tr.expires_ms >= @now AND (NOT EXISTS (SELECT 1 FROM lessons l WHERE l.class_id = tr.class_id) OR EXISTS (SELECT 1 FROM lessons l WHERE l.class_id = tr.class_id AND l.end_ms >= @now - ${FACE_GRACE_MS})))`;

/** Tables not purged row by row: state, configuration and bookkeeping, overwritten in place or bounded by construction. */
export const RETAINED_WITH: Readonly<Record<string, string>> = {
  schema_migrations: 'the schema itself',
  terminal_state: 'one row per configured terminal, overwritten',
  cameras: 'one row per configured camera, overwritten',
  sync_meta: 'sync bookkeeping (cursors), overwritten',
  console_users: 'one row per console user, removed by `users remove`',
  evidence_log: 'the evidence log itself: cut at its start by retention with a signed pruned entry (evidence/prune.ts)',
  evidence_nodes: 'the Merkle tree of the evidence log: kept whole so that what remains after a cut still verifies',
  evidence_checkpoints: 'signed checkpoints, one every few minutes: kept with the log they sign',
};

export const PURGE_PLAN: readonly { table: string; where: string }[] = [
  // face data first: a matched-face crop never outlives its match (vision-2 migration)
  { table: 'face_crops', where: 'expires_ms < @now' },
  { table: 'sightings', where: 'expires_ms < @now' },
  { table: 'checkin_corrections', where: 'expires_ms < @now' },
  { table: 'terminal_events', where: 'expires_ms < @now' },
  // per-frame matches and headcounts: the frames' evidence retention
  { table: 'face_matches', where: 'expires_ms < @now' },
  { table: 'vision_frames', where: 'expires_ms < @now' },
  // descriptors: once the trainee is gone or expired, or FACE_GRACE_MS after the last lesson of their classes
  { table: 'face_descriptors', where: FACE_GONE('face_descriptors') },
  { table: 'checkins', where: 'expires_ms < @now' },
  { table: 'inspection_events', where: 'expires_ms < @now' },
  { table: 'console_access', where: 'expires_ms < @now' },
  // serials that knocked and were never approved: forgotten 30 days after their last request
  { table: 'terminal_serials', where: 'approved_ms IS NULL AND last_ms < @now - 2592000000' },
  // raw inputs: their retention, once no check-in points at them any more
  { table: 'raw_inputs', where: 'expires_ms < @now AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.raw_id = raw_inputs.id)' },
  { table: 'verdicts', where: 'expires_ms < @now' },
  { table: 'alarms', where: 'expires_ms < @now AND cleared_ms IS NOT NULL' },
  { table: 'recording_gaps', where: 'expires_ms < @now AND end_ms IS NOT NULL' },
  { table: 'recordings', where: 'expires_ms < @now AND deleted_ms IS NOT NULL' },
  // a cut file's row stays while its file is on disk, like a segment's
  { table: 'recording_cuts', where: 'expires_ms < @now AND deleted_ms IS NOT NULL' },
  { table: 'recording_runs', where: 'expires_ms < @now AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.run_id = recording_runs.id)' },
  { table: 'outbox', where: 'expires_ms < @now AND acked_ms IS NOT NULL' },
  { table: 'lessons', where: 'expires_ms < @now' },
  { table: 'trainees', where: 'expires_ms < @now' },
  // consent records prove the legal basis as long as the trainee's records exist, then go
  { table: 'face_consents', where: TRAINEE_GONE('face_consents') },
  { table: 'face_consent_events', where: TRAINEE_GONE('face_consent_events') },
  { table: 'teachers', where: 'expires_ms < @now' },
  {
    table: 'classes',
    where:
      'expires_ms < @now AND NOT EXISTS (SELECT 1 FROM lessons l WHERE l.class_id = classes.id) AND NOT EXISTS (SELECT 1 FROM trainees t WHERE t.class_id = classes.id) AND NOT EXISTS (SELECT 1 FROM teachers t WHERE t.class_id = classes.id)',
  },
];

export interface VideoRow {
  id: number;
  camera: string;
  path: string;
  start_ms: number;
  bytes: number;
  sha256: string;
  archived_ms: number | null;
  expires_ms: number;
}

export class RetentionRepo {
  constructor(private store: Store) {}

  /** Delete at most `batch` expired rows of one table; returns how many went. */
  purgeBatch(table: string, where: string, now: number, batch: number): number {
    return this.store.tx(() => {
      const n = this.store.db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT @batch)`).run({ now, batch }).changes;
      // a retention purge is itself evidence: verify accepts a missing row only when a logged
      // purge of its table came after the row's expiry
      if (n && table in FACTS) evidenceLog(this.store).appendEvidence('purge', { table, rows: n, at: now });
      return n;
    });
  }

  /** Expired segments whose file is still on disk, oldest first. */
  expiredVideos(now: number, limit: number): VideoRow[] {
    return this.store.db
      .prepare('SELECT id, camera, path, start_ms, bytes, sha256, archived_ms, expires_ms FROM recordings WHERE expires_ms < ? AND deleted_ms IS NULL ORDER BY expires_ms LIMIT ?')
      .all(now, limit) as VideoRow[];
  }

  markArchived(id: number, at: number): void {
    this.store.tx(() => {
      if (this.store.db.prepare('UPDATE recordings SET archived_ms = ? WHERE id = ?').run(at, id).changes) evidenceLog(this.store).row('recordings', [id]);
    });
  }

  /** Mark a segment's file deleted; refuses (returns false) for an unexpired row, whatever the caller thinks. */
  /** Cut files (recording_cuts) past their expiry, still on disk. */
  expiredCuts(now: number, limit: number): Array<{ id: number; path: string; bytes: number }> {
    return this.store.db.prepare('SELECT id, path, bytes FROM recording_cuts WHERE expires_ms < ? AND deleted_ms IS NULL ORDER BY expires_ms LIMIT ?').all(now, limit) as Array<{
      id: number;
      path: string;
      bytes: number;
    }>;
  }

  markCutDeleted(id: number, at: number): boolean {
    return this.store.tx(() => {
      const ok = this.store.db.prepare('UPDATE recording_cuts SET deleted_ms = ? WHERE id = ? AND expires_ms < ?').run(at, id, at).changes === 1;
      // the file's deletion is a correction of the cut's entry (verify then stops looking for the file)
      if (ok) evidenceLog(this.store).row('recording_cuts', [id]);
      return ok;
    });
  }

  markDeleted(id: number, at: number): boolean {
    return this.store.tx(() => {
      const ok = this.store.db.prepare('UPDATE recordings SET deleted_ms = ? WHERE id = ? AND expires_ms < ?').run(at, id, at).changes === 1;
      // the file's removal is logged (a correction of the segment's entry): a row marked deleted
      // by hand to hide a missing file no longer matches the log
      if (ok) evidenceLog(this.store).row('recordings', [id]);
      return ok;
    });
  }

  /** Bytes of video still on disk, per the store. */
  videoBytes(): number {
    return (this.store.db.prepare('SELECT COALESCE(SUM(bytes), 0) FROM recordings WHERE deleted_ms IS NULL').pluck().get() as number) ?? 0;
  }

  /** Bytes recorded with start in [from, to), and the first start in that window. */
  recordedBetween(from: number, to: number): { bytes: number; first: number | null } {
    const r = this.store.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS b, MIN(start_ms) AS f FROM recordings WHERE start_ms >= ? AND start_ms < ?').get(from, to) as { b: number; f: number | null };
    return { bytes: r.b, first: r.f };
  }

  /** Bytes of video that expire in [from, to) and will be freed then. */
  expiringBetween(from: number, to: number): number {
    return this.store.db.prepare('SELECT COALESCE(SUM(bytes), 0) FROM recordings WHERE deleted_ms IS NULL AND expires_ms >= ? AND expires_ms < ?').pluck().get(from, to) as number;
  }

  /** Paths of segments the store says are on disk, streamed (millions over 3 years). */
  iterateLivePaths(): IterableIterator<string> {
    return this.store.db.prepare('SELECT path FROM recordings WHERE deleted_ms IS NULL').pluck().iterate() as IterableIterator<string>;
  }

  liveCount(): number {
    return this.store.db.prepare('SELECT COUNT(*) FROM recordings WHERE deleted_ms IS NULL').pluck().get() as number;
  }

  /** Whether the store lists this file as a segment still on disk (indexed: path is UNIQUE). */
  /** A segment, or a cut file the recorder described (recording_cuts) instead of indexing it. */
  knowsPath(p: string): boolean {
    return this.store.db.prepare('SELECT 1 FROM recordings WHERE path = ? AND deleted_ms IS NULL UNION ALL SELECT 1 FROM recording_cuts WHERE path = ? AND deleted_ms IS NULL').get(p, p) !== undefined;
  }

  /** Is recording run `id` still going (its open segment is being written, not an orphan)? */
  runOpen(id: number): boolean {
    return this.store.db.prepare('SELECT 1 FROM recording_runs WHERE id = ? AND ended_ms IS NULL').get(id) !== undefined;
  }

  recordingCount(): number {
    return this.store.db.prepare('SELECT COUNT(*) FROM recordings').pluck().get() as number;
  }

  /** When this database was created (its first migration), or null. */
  createdMs(): number | null {
    return (this.store.db.prepare('SELECT MIN(applied_ms) FROM schema_migrations').pluck().get() as number | null) ?? null;
  }

  /** Bytes of raw input bodies kept in rows after `afterId`, and the highest id seen (incremental sums). */
  rawInputBytes(afterId: number): { bytes: number; maxId: number } {
    const r = this.store.db.prepare('SELECT COALESCE(SUM(length(body)), 0) AS b, COALESCE(MAX(id), ?) AS m FROM raw_inputs WHERE id > ?').get(afterId, afterId) as { b: number; m: number };
    return { bytes: r.b, maxId: r.m };
  }

  /** Size of the database files (db + WAL). */
  databaseBytes(): number {
    let n = 0;
    for (const f of [this.store.file, `${this.store.file}-wal`, `${this.store.file}-shm`]) {
      try {
        n += fs.statSync(f).size;
      } catch {
        // absent WAL/SHM: nothing to add
      }
    }
    return n;
  }
}
