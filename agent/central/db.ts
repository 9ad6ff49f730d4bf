import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { WireRecord } from '../sync/contract.js';
import { isLastPart, joinParts, type CentralStore, type PartLike, type SegmentData } from './store.js';

/**
 * The reference central receiver's own database.
 *
 * why this file opens better-sqlite3 itself (the agent's rule is "only agent/store/ does"): the
 * central receiver is a separate program standing in for the provincial system, with its own
 * database file; it never touches the box's evidence store. Several receivers on one host may
 * share this file (WAL, IMMEDIATE transactions), which is how `$share` load splitting keeps
 * exactly-once storage; across hosts the real system would use a shared SQL server instead.
 */
export interface StoredRecord {
  box: string;
  seq: number;
  recordId: string;
  type: string;
  at: number;
  data: unknown;
  valid: boolean;
  error: string | null;
}

export interface BatchResult {
  /** sequences committed by this batch or earlier (new, duplicate, invalid or conflicting) */
  committed: number[];
  fresh: number;
  duplicates: number;
  invalid: number;
  conflicts: number;
  /** records released in per-box sequence order by this batch */
  released: StoredRecord[];
  /** first missing seq when records beyond a hole are waiting */
  gapAt: number | null;
  /** records whose seq the box had already used for another record (kept in conflicts) */
  conflicted?: WireRecord[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS boxes (
  box TEXT PRIMARY KEY,
  next_seq INTEGER NOT NULL DEFAULT 1,
  status_state TEXT,
  status_session INTEGER,
  status_at_ms INTEGER,
  status_received_ms INTEGER,
  last_batch_ms INTEGER,
  gap_since_ms INTEGER,
  resend_asked_ms INTEGER
);
-- one row per (box, record id): the dedup key. (box, seq) is unique too; a different record
-- arriving with a seq already taken goes to conflicts (a box whose database was replaced).
CREATE TABLE IF NOT EXISTS records (
  box TEXT NOT NULL,
  seq INTEGER NOT NULL,
  record_id TEXT NOT NULL,
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  data TEXT NOT NULL,
  valid INTEGER NOT NULL,
  error TEXT,
  received_ms INTEGER NOT NULL,
  PRIMARY KEY (box, record_id),
  UNIQUE (box, seq)
);
-- the in-order stream: records appended here only when every lower seq of the box is present
CREATE TABLE IF NOT EXISTS released (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  box TEXT NOT NULL,
  seq INTEGER NOT NULL,
  released_ms INTEGER NOT NULL
);
-- v1.1: records that travelled as 'part' records, joined again (record_id is the whole record's)
CREATE TABLE IF NOT EXISTS assembled (
  box TEXT NOT NULL,
  record_id TEXT NOT NULL,
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  data TEXT,
  valid INTEGER NOT NULL,
  error TEXT,
  last_seq INTEGER NOT NULL,
  PRIMARY KEY (box, record_id)
);
CREATE TABLE IF NOT EXISTS conflicts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  box TEXT NOT NULL,
  seq INTEGER NOT NULL,
  record_id TEXT NOT NULL,
  body TEXT NOT NULL,
  received_ms INTEGER NOT NULL
);
-- verify --central (audit.ts) reads each box's witnessed records by sequence
CREATE INDEX IF NOT EXISTS records_witnessed ON records (box, seq) WHERE type IN ('log-key', 'checkpoint');
`;

export class CentralDb implements CentralStore {
  readonly db: Database.Database;
  private insRecord;
  private getById;
  private nextSeqs;
  private getBySeq;
  private insReleased;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // the ack promises durability: the commit must be on disk before the ack leaves
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
    // v1.1 status fields, added to databases made by 1.0 receivers
    const cols = new Set((this.db.prepare('PRAGMA table_info(boxes)').all() as Array<{ name: string }>).map((c) => c.name));
    for (const c of ['status_contract', 'status_agent_version']) if (!cols.has(c)) this.db.exec(`ALTER TABLE boxes ADD COLUMN ${c} TEXT`);
    this.insRecord = this.db.prepare('INSERT INTO records (box, seq, record_id, type, at_ms, data, valid, error, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
    this.getById = this.db.prepare('SELECT seq FROM records WHERE box = ? AND record_id = ?');
    this.nextSeqs = this.db.prepare('SELECT seq FROM records WHERE box = ? AND seq >= ? ORDER BY seq LIMIT 1000');
    this.getBySeq = this.db.prepare('SELECT record_id, type, at_ms, data, valid, error FROM records WHERE box = ? AND seq = ?');
    this.insReleased = this.db.prepare('INSERT INTO released (box, seq, released_ms) VALUES (?, ?, ?)');
  }

  /**
   * Store one batch in one IMMEDIATE transaction (several receivers may share the file), then
   * release what became contiguous. `check` gives a record's data problems ('' when valid).
   */
  storeBatch(box: string, floor: number, records: readonly WireRecord[], now: number, check: (r: WireRecord, joined?: boolean) => string, withRows = false): BatchResult {
    const run = this.db.transaction((): BatchResult => {
      this.db.prepare('INSERT INTO boxes (box) VALUES (?) ON CONFLICT DO NOTHING').run(box);
      // sequences below the box's floor will never come (pruned after an earlier ack)
      this.db.prepare('UPDATE boxes SET next_seq = ?, last_batch_ms = ? WHERE box = ? AND next_seq < ?').run(floor, now, box, floor);
      this.db.prepare('UPDATE boxes SET last_batch_ms = ? WHERE box = ?').run(now, box);
      const res: BatchResult = { committed: [], fresh: 0, duplicates: 0, invalid: 0, conflicts: 0, released: [], gapAt: null, conflicted: [] };
      for (const r of records) {
        const problem = check(r);
        const ins = this.insRecord.run(box, r.seq, r.id, r.type, r.at, JSON.stringify(r.data), problem ? 0 : 1, problem || null, now);
        if (ins.changes) {
          res.fresh++;
          if (problem) res.invalid++;
        } else if (this.getById.get(box, r.id)) {
          res.duplicates++;
        } else {
          // same seq, different record id: kept aside for a human, and acked (it is stored)
          this.db.prepare('INSERT INTO conflicts (box, seq, record_id, body, received_ms) VALUES (?, ?, ?, ?, ?)').run(box, r.seq, r.id, JSON.stringify(r), now);
          res.conflicts++;
          res.conflicted!.push(r);
        }
        res.committed.push(r.seq);
      }
      // release in sequence order whatever is now contiguous
      let next = (this.db.prepare('SELECT next_seq FROM boxes WHERE box = ?').get(box) as { next_seq: number }).next_seq;
      for (;;) {
        const seqs = this.nextSeqs.pluck().all(box, next) as number[];
        let advanced = false;
        for (const seq of seqs) {
          if (seq !== next) break;
          this.insReleased.run(box, seq, now);
          const row = this.getBySeq.get(box, seq) as { record_id: string; type: string; at_ms: number; data: string; valid: number; error: string | null };
          if (row.type === 'part') {
            // the last part released (parts have consecutive sequences): the whole record is here
            const whole = this.assemble(box, seq, row, check);
            if (whole && withRows) res.released.push(whole);
          } else if (withRows) {
            res.released.push({ box, seq, recordId: row.record_id, type: row.type, at: row.at_ms, data: JSON.parse(row.data), valid: !!row.valid, error: row.error });
          }
          next++;
          advanced = true;
        }
        if (!advanced || seqs.length < 1000) break;
      }
      const waiting = this.db.prepare('SELECT 1 FROM records WHERE box = ? AND seq > ? LIMIT 1').get(box, next);
      res.gapAt = waiting ? next : null;
      this.db
        .prepare(
          'UPDATE boxes SET next_seq = ?, gap_since_ms = CASE WHEN ? THEN COALESCE(gap_since_ms, ?) ELSE NULL END, resend_asked_ms = CASE WHEN ? THEN resend_asked_ms ELSE NULL END WHERE box = ?',
        )
        .run(next, waiting ? 1 : 0, now, waiting ? 1 : 0, box);
      return res;
    });
    return run.immediate();
  }

  /**
   * When `row` is the last part of a record, join the texts of its parts (the `count` sequences
   * ending at `seq`), check the whole like any record and keep it in `assembled`. A part set
   * that does not join (a part missing or foreign, text that is not JSON) is kept as invalid:
   * its parts are stored and acked, and a human sees the error.
   */
  private assemble(box: string, seq: number, row: { record_id: string; at_ms: number; data: string }, check: (r: WireRecord, joined?: boolean) => string): StoredRecord | undefined {
    const p = JSON.parse(row.data) as PartLike;
    if (!isLastPart(p)) return undefined;
    const count = p.count as number;
    const parts = (this.db.prepare('SELECT type, data FROM records WHERE box = ? AND seq > ? AND seq <= ? ORDER BY seq').all(box, seq - count, seq) as Array<{ type: string; data: string }>).map(
      (r) => (r.type === 'part' ? (JSON.parse(r.data) as PartLike) : {}),
    );
    const joined = joinParts(p, parts);
    const data = 'data' in joined ? joined.data : null;
    const rec: WireRecord = { id: String(p.of), seq, type: String(p.type), at: row.at_ms, data };
    const error = 'error' in joined ? joined.error : check(rec, true) || null;
    this.db
      .prepare('INSERT INTO assembled (box, record_id, type, at_ms, data, valid, error, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .run(box, rec.id, rec.type, rec.at, error ? null : JSON.stringify(data), error ? 0 : 1, error, seq);
    return { box, seq, recordId: rec.id, type: rec.type, at: rec.at, data, valid: !error, error };
  }

  segmentBySha(box: string, sha256: string): SegmentData | undefined {
    const r = this.db.prepare("SELECT data FROM records WHERE box = ? AND type = 'segment' AND json_extract(data, '$.sha256') = ? LIMIT 1").get(box, sha256) as { data: string } | undefined;
    return r ? (JSON.parse(r.data) as SegmentData) : undefined;
  }

  /** Records that travelled in parts, joined (for checks and readers). */
  assembled(box: string): Array<{ recordId: string; type: string; data: unknown; valid: boolean; error: string | null }> {
    return (
      this.db.prepare('SELECT record_id, type, data, valid, error FROM assembled WHERE box = ? ORDER BY last_seq').all(box) as Array<{
        record_id: string;
        type: string;
        data: string | null;
        valid: number;
        error: string | null;
      }>
    ).map((r) => ({ recordId: r.record_id, type: r.type, data: r.data === null ? null : JSON.parse(r.data), valid: !!r.valid, error: r.error }));
  }

  /**
   * Boxes whose gap has lasted `timeoutMs` and whose last resend request is older than that:
   * claimed atomically so that of several receivers sharing the file only one asks.
   */
  claimGaps(now: number, timeoutMs: number): Array<{ box: string; from: number }> {
    const run = this.db.transaction(() => {
      const rows = this.db
        .prepare('SELECT box, next_seq FROM boxes WHERE gap_since_ms IS NOT NULL AND gap_since_ms <= ? AND (resend_asked_ms IS NULL OR resend_asked_ms <= ?)')
        .all(now - timeoutMs, now - timeoutMs) as Array<{ box: string; next_seq: number }>;
      for (const r of rows) this.db.prepare('UPDATE boxes SET resend_asked_ms = ? WHERE box = ?').run(now, r.box);
      return rows.map((r) => ({ box: r.box, from: r.next_seq }));
    });
    return run.immediate();
  }

  /** Status of a box; a status with a lower session than the stored one is a late will: ignored. */
  setStatus(box: string, state: string, session: number, at: number, now: number, versions: { contract?: string; agentVersion?: string } = {}): boolean {
    const run = this.db.transaction(() => {
      this.db.prepare('INSERT INTO boxes (box) VALUES (?) ON CONFLICT DO NOTHING').run(box);
      // status_received_ms is when the state became known here: an offline will's `at` is its connection's start
      return (
        this.db
          .prepare(
            'UPDATE boxes SET status_state = ?, status_session = ?, status_at_ms = ?, status_received_ms = ?, status_contract = ?, status_agent_version = ? WHERE box = ? AND (status_session IS NULL OR status_session <= ?)',
          )
          .run(state, session, at, now, versions.contract ?? '1.0', versions.agentVersion ?? null, box, session).changes > 0
      );
    });
    return run.immediate();
  }

  box(box: string) {
    return this.db.prepare('SELECT * FROM boxes WHERE box = ?').get(box) as
      | {
          box: string;
          next_seq: number;
          status_state: string | null;
          status_session: number | null;
          status_at_ms: number | null;
          status_received_ms: number | null;
          status_contract: string | null;
          status_agent_version: string | null;
          gap_since_ms: number | null;
        }
      | undefined;
  }

  count(box?: string): number {
    const r = box ? (this.db.prepare('SELECT COUNT(*) AS n FROM records WHERE box = ?').get(box) as { n: number }) : (this.db.prepare('SELECT COUNT(*) AS n FROM records').get() as { n: number });
    return r.n;
  }

  /** The released stream of a box, in release order (for checks: must be 1..n ascending). */
  releasedSeqs(box: string): number[] {
    return this.db.prepare('SELECT seq FROM released WHERE box = ? ORDER BY n').pluck().all(box) as number[];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
