import fs from 'node:fs';
import type { Store } from './store.js';

/**
 * What the retention policy may purge, table by table, in the order that keeps foreign keys
 * valid. Every condition starts with `expires_ms < @now`: nothing unexpired is ever deleted.
 * Extra conditions keep rows whose job is not done: a recording row stays until its file is
 * deleted (or archived and deleted), an open alarm or gap stays open, an outbox record stays
 * until the provincial system acknowledged it.
 */
export const PURGE_PLAN: readonly { table: string; where: string }[] = [
  { table: 'sightings', where: 'expires_ms < @now' },
  { table: 'checkin_corrections', where: 'expires_ms < @now' },
  { table: 'terminal_events', where: 'expires_ms < @now' },
  { table: 'checkins', where: 'expires_ms < @now' },
  { table: 'verdicts', where: 'expires_ms < @now' },
  { table: 'alarms', where: 'expires_ms < @now AND cleared_ms IS NOT NULL' },
  { table: 'recording_gaps', where: 'expires_ms < @now AND end_ms IS NOT NULL' },
  { table: 'recordings', where: 'expires_ms < @now AND deleted_ms IS NOT NULL' },
  { table: 'recording_runs', where: 'expires_ms < @now AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.run_id = recording_runs.id)' },
  { table: 'outbox', where: 'expires_ms < @now AND acked_ms IS NOT NULL' },
  // the hash chain is cut only from its start, so what remains still verifies link by link
  { table: 'evidence_chain', where: 'expires_ms < @now AND seq < (SELECT COALESCE(MIN(c.seq), 9e18) FROM evidence_chain c WHERE c.expires_ms >= @now)' },
  { table: 'lessons', where: 'expires_ms < @now' },
  { table: 'trainees', where: 'expires_ms < @now' },
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
    return this.store.tx(
      () => this.store.db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT @batch)`).run({ now, batch }).changes,
    );
  }

  /** Expired segments whose file is still on disk, oldest first. */
  expiredVideos(now: number, limit: number): VideoRow[] {
    return this.store.db
      .prepare('SELECT id, camera, path, start_ms, bytes, sha256, archived_ms, expires_ms FROM recordings WHERE expires_ms < ? AND deleted_ms IS NULL ORDER BY expires_ms LIMIT ?')
      .all(now, limit) as VideoRow[];
  }

  markArchived(id: number, at: number): void {
    this.store.db.prepare('UPDATE recordings SET archived_ms = ? WHERE id = ?').run(at, id);
  }

  /** Mark a segment's file deleted; refuses (returns false) for an unexpired row, whatever the caller thinks. */
  /** Cut files (recording_cuts) past their expiry, still on disk. */
  expiredCuts(now: number, limit: number): Array<{ id: number; path: string; bytes: number }> {
    return this.store.db.prepare('SELECT id, path, bytes FROM recording_cuts WHERE expires_ms < ? AND deleted_ms IS NULL ORDER BY expires_ms LIMIT ?').all(now, limit) as Array<{ id: number; path: string; bytes: number }>;
  }

  markCutDeleted(id: number, at: number): boolean {
    return this.store.db.prepare('UPDATE recording_cuts SET deleted_ms = ? WHERE id = ? AND expires_ms < ?').run(at, id, at).changes === 1;
  }

  markDeleted(id: number, at: number): boolean {
    return this.store.db.prepare('UPDATE recordings SET deleted_ms = ? WHERE id = ? AND expires_ms < ?').run(at, id, at).changes === 1;
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
