import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { logger } from '../core/log.js';
import { evidenceLog } from './evidence-log.js';
import { migrate } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';

const log = logger('store');

export interface StoreOptions {
  file: string;
  /** evidence retention in years (from the rule profile): sets expires_ms on every row */
  retentionYears?: number;
  readonly?: boolean;
  now?: () => number;
}

const YEAR_MS = 365.25 * 24 * 3600 * 1000;

/**
 * The evidence store: the only module that opens SQLite. Repositories (classes.ts,
 * evidence.ts, outbox.ts, ...) receive the Store and use its connection; nobody else does.
 */
export class Store {
  readonly db: Database.Database;
  readonly file: string;
  readonly now: () => number;
  private retentionMs: number;

  constructor(opts: StoreOptions) {
    this.file = path.resolve(opts.file);
    this.now = opts.now ?? Date.now;
    this.retentionMs = (opts.retentionYears ?? 3) * YEAR_MS;
    if (!opts.readonly) fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.db = new Database(this.file, { readonly: !!opts.readonly, fileMustExist: !!opts.readonly });
    if (!opts.readonly) {
      // WAL: readers (CLI report, doctor) never block the recorder's writes, and a crash mid-write
      // leaves the database consistent.
      this.db.pragma('journal_mode = WAL');
      // why FULL, not NORMAL: in WAL mode NORMAL skips the fsync at commit, so a power cut can
      // lose the last transactions after we have acknowledged them (a terminal's check-in, a
      // segment we told ffmpeg is indexed). Evidence the box acknowledged must survive power
      // loss; FULL syncs the WAL on every commit. Batching keeps the cost low (see bench).
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      // deleted rows are overwritten with zeros, not left in free pages: withdrawn consent and
      // expired face data must leave no bytes in the file (scrub() then empties the WAL)
      this.db.pragma('secure_delete = ON');
      // a reader (CLI) and the daemon may briefly contend; wait instead of failing
      this.db.pragma('busy_timeout = 5000');
      const applied = migrate(this.db, MIGRATIONS, this.now());
      if (applied.length) log.info({ file: this.file, applied }, 'migrations applied');
      // rows written before their table entered the evidence log are adopted into it, once
      const adopted = evidenceLog(this).adopt();
      if (adopted && Object.values(adopted.rows).some((n) => n > 0)) log.warn({ file: this.file, rows: adopted.rows }, 'rows from before the evidence log adopted into it');
    }
  }

  /** Expiry of a row whose event happened at `eventMs` (retention counts from the event). */
  /**
   * SQLite's data_version: changes when another connection (a CLI command, another process)
   * commits. A cheap poll for "something was imported meanwhile" (the recorder's timetable).
   */
  dataVersion(): number {
    // prepared once: db.pragma() compiles the statement on every call, and the recorder asks every second
    this.dataVersionStmt ??= this.db.prepare('PRAGMA data_version').pluck();
    return this.dataVersionStmt.get() as number;
  }
  private dataVersionStmt?: Database.Statement;

  expiresAt(eventMs: number): number {
    return Math.round(eventMs + this.retentionMs);
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * Move the WAL into the database and truncate it, so deleted pages' old images leave the WAL
   * file too. Best effort: a reader holding an old snapshot makes it partial (returns false).
   */
  scrub(): boolean {
    const r = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return r[0]?.busy === 0;
  }

  integrityCheck(): string {
    return this.db.pragma('quick_check', { simple: true }) as string;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
