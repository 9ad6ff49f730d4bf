import pg from 'pg';
import type { WireRecord } from '../sync/contract.js';
import type { BatchResult, StoredRecord } from './db.js';
import type { Logger } from 'pino';
import { logger } from '../core/log.js';
import type { CheckpointRecord } from '../evidence/verifier.js';
import { isLastPart, joinParts, type CentralStore, type PartLike, type SegmentData } from './store.js';
import { checkpointDecision, keyDecision, type LogKeyRecord, type WitnessAlarmRow } from './witness.js';

/**
 * The central receiver's database on PostgreSQL: several receiver instances, on several hosts,
 * share one subscription group and this database. Exactly-once storage comes from the keys
 * (box, record_id) and (box, seq) with INSERT … ON CONFLICT DO NOTHING; in-order release from a
 * per-box row lock (SELECT … FOR UPDATE on `boxes`), so two instances never release the same
 * box's records at once. Data is kept as the text the box sent (TEXT, not JSONB, which would
 * reorder keys): it is evidence.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS boxes (
  box TEXT PRIMARY KEY,
  next_seq BIGINT NOT NULL DEFAULT 1,
  status_state TEXT, status_session BIGINT, status_at_ms BIGINT, status_received_ms BIGINT,
  status_contract TEXT, status_agent_version TEXT,
  last_batch_ms BIGINT, gap_since_ms BIGINT, resend_asked_ms BIGINT
);
CREATE TABLE IF NOT EXISTS records (
  box TEXT NOT NULL, seq BIGINT NOT NULL, record_id TEXT NOT NULL, type TEXT NOT NULL, at_ms BIGINT NOT NULL,
  data TEXT NOT NULL, valid BOOLEAN NOT NULL, error TEXT, received_ms BIGINT NOT NULL,
  PRIMARY KEY (box, record_id), UNIQUE (box, seq)
);
CREATE TABLE IF NOT EXISTS released (n BIGSERIAL PRIMARY KEY, box TEXT NOT NULL, seq BIGINT NOT NULL, released_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS released_box ON released (box, n);
CREATE TABLE IF NOT EXISTS assembled (
  box TEXT NOT NULL, record_id TEXT NOT NULL, type TEXT NOT NULL, at_ms BIGINT NOT NULL, data TEXT, valid BOOLEAN NOT NULL,
  error TEXT, last_seq BIGINT NOT NULL, PRIMARY KEY (box, record_id)
);
CREATE TABLE IF NOT EXISTS conflicts (id BIGSERIAL PRIMARY KEY, box TEXT NOT NULL, seq BIGINT NOT NULL, record_id TEXT NOT NULL, body TEXT NOT NULL, received_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS conflicts_box ON conflicts (box, seq, record_id);
-- the witness (witness.ts): each box's keys, the checkpoints held, the alarms raised
CREATE TABLE IF NOT EXISTS box_keys (
  n BIGSERIAL, box TEXT NOT NULL, vkey TEXT NOT NULL, origin TEXT NOT NULL, trusted BOOLEAN NOT NULL, note TEXT NOT NULL, since_ms BIGINT NOT NULL,
  PRIMARY KEY (box, vkey)
);
CREATE TABLE IF NOT EXISTS box_checkpoints (
  n BIGSERIAL PRIMARY KEY, box TEXT NOT NULL, seq BIGINT NOT NULL, size BIGINT, root BYTEA, time_ms BIGINT, record TEXT NOT NULL,
  ok BOOLEAN NOT NULL, received_ms BIGINT NOT NULL, conflict BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX IF NOT EXISTS box_checkpoints_box ON box_checkpoints (box, n);
CREATE TABLE IF NOT EXISTS witness_alarms (id BIGSERIAL PRIMARY KEY, box TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL, seq BIGINT, raised_ms BIGINT NOT NULL);
ALTER TABLE boxes ADD COLUMN IF NOT EXISTS status_backlog BIGINT;
-- verify --central (audit.ts) reads each box's witness rows by sequence. (Its read of the
-- records is faster with records_witnessed, docs/evidence.md; not made here: on a central
-- already holding millions of records the build would stop inserts, and CONCURRENTLY under the
-- schema lock deadlocks with an instance waiting for that lock.)
CREATE INDEX IF NOT EXISTS box_checkpoints_seq ON box_checkpoints (box, seq, n);
CREATE INDEX IF NOT EXISTS witness_alarms_box ON witness_alarms (box, seq, id);
`;
/** advisory lock id for schema creation: instances starting together must not race on the catalog */
const SCHEMA_LOCK = 0x63612d63;

// why: BIGINT comes back as a string by default; our values (ms, seq) fit in a double
pg.types.setTypeParser(20, (v) => Number(v));

/** Run schema SQL under an advisory lock: instances starting together must not race on the catalog. */
export async function createSchema(pool: pg.Pool, lock: number, sql: string): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('SELECT pg_advisory_lock($1)', [lock]);
    // one statement at a time (each its own transaction): as one multi-statement query, the
    // locks every CREATE … IF NOT EXISTS takes were held until the ALTER TABLE, which waits for
    // another instance's open transaction; that transaction then waited for them: a deadlock
    for (const stmt of sql
      .split(/;\s*\n/)
      .map((x) => x.trim())
      .filter((x) => x && !/^(--[^\n]*\n?)*$/.test(x)))
      await c.query(stmt);
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [lock]).catch(() => undefined);
    c.release();
  }
}

export class PgCentralDb implements CentralStore {
  readonly pool: pg.Pool;
  private ready?: Promise<void>;

  private witness?: { now: () => number; log: Logger };

  /**
   * `witness`: check each box's `log-key` and `checkpoint` records as they are released (see
   * witnessRecord): what the SQLite central does with witness.ts, here inside the release's own
   * transaction, so of several instances exactly one witnesses each record.
   */
  constructor(url: string, opts: { max?: number; witness?: boolean | { now?: () => number; log?: Logger } } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: opts.max ?? 4 });
    if (opts.witness) {
      const w = opts.witness === true ? {} : opts.witness;
      this.witness = { now: w.now ?? Date.now, log: w.log ?? logger('witness') };
    }
    // an idle client that loses its server must not crash the receiver; the next query reconnects
    this.pool.on('error', () => undefined);
  }

  /** Create the tables (idempotent, serialised between instances). */
  init(): Promise<void> {
    this.ready ??= createSchema(this.pool, SCHEMA_LOCK, SCHEMA);
    return this.ready;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.init();
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async storeBatch(box: string, floor: number, records: readonly WireRecord[], now: number, check: (r: WireRecord, joined?: boolean) => string, withRows = false): Promise<BatchResult> {
    // the witness reads the released records: fetch them whenever it runs
    withRows ||= !!this.witness;
    return this.tx(async (c) => {
      await c.query('INSERT INTO boxes (box) VALUES ($1) ON CONFLICT DO NOTHING', [box]);
      // the per-box lock: storing and releasing one box's records is serial across instances
      const locked = await c.query<{ next_seq: number }>('SELECT next_seq FROM boxes WHERE box = $1 FOR UPDATE', [box]);
      let next = Math.max(locked.rows[0]!.next_seq, floor);
      const res: BatchResult = { committed: [], fresh: 0, duplicates: 0, invalid: 0, conflicts: 0, released: [], gapAt: null, conflicted: [] };
      const problems = records.map((r) => check(r));
      const ins = await c.query<{ record_id: string }>(
        `INSERT INTO records (box, seq, record_id, type, at_ms, data, valid, error, received_ms)
         SELECT $1, s, id, t, a, d, v, e, $2 FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::boolean[], $9::text[]) AS u(s, id, t, a, d, v, e)
         ON CONFLICT DO NOTHING RETURNING record_id`,
        [
          box,
          now,
          records.map((r) => r.seq),
          records.map((r) => r.id),
          records.map((r) => r.type),
          records.map((r) => r.at),
          records.map((r) => JSON.stringify(r.data)),
          problems.map((p) => !p),
          problems.map((p) => p || null),
        ],
      );
      const fresh = new Set(ins.rows.map((r) => r.record_id));
      const rest = records.filter((r) => !fresh.has(r.id));
      const known = rest.length
        ? new Set((await c.query<{ record_id: string }>('SELECT record_id FROM records WHERE box = $1 AND record_id = ANY($2::text[])', [box, rest.map((r) => r.id)])).rows.map((r) => r.record_id))
        : new Set<string>();
      for (const [i, r] of records.entries()) {
        if (fresh.has(r.id)) {
          res.fresh++;
          if (problems[i]) res.invalid++;
        } else if (known.has(r.id)) {
          res.duplicates++;
        } else {
          // same seq, different record id: kept aside for a human, and acked (it is stored); a
          // redelivery of the same conflicting record is not a new conflict (nor a second alarm)
          const seen = (await c.query('SELECT 1 FROM conflicts WHERE box = $1 AND seq = $2 AND record_id = $3 LIMIT 1', [box, r.seq, r.id])).rowCount! > 0;
          if (!seen) {
            await c.query('INSERT INTO conflicts (box, seq, record_id, body, received_ms) VALUES ($1, $2, $3, $4, $5)', [box, r.seq, r.id, JSON.stringify(r), now]);
            res.conflicted!.push(r);
          }
          res.conflicts++;
        }
        res.committed.push(r.seq);
      }
      // release in sequence order whatever is now contiguous
      const releasedSeqs: number[] = [];
      for (;;) {
        const seqs = (await c.query<{ seq: number }>('SELECT seq FROM records WHERE box = $1 AND seq >= $2 ORDER BY seq LIMIT 1000', [box, next])).rows.map((r) => r.seq);
        let advanced = false;
        for (const seq of seqs) {
          if (seq !== next) break;
          releasedSeqs.push(seq);
          next++;
          advanced = true;
        }
        if (!advanced || seqs.length < 1000) break;
      }
      if (releasedSeqs.length) {
        await c.query('INSERT INTO released (box, seq, released_ms) SELECT $1, s, $2 FROM unnest($3::bigint[]) AS s', [box, now, releasedSeqs]);
        const parts = (
          await c.query<{ seq: number; record_id: string; type: string; at_ms: number; data: string; valid: boolean; error: string | null }>(
            `SELECT seq, record_id, type, at_ms, data, valid, error FROM records WHERE box = $1 AND seq >= $2 AND seq <= $3 AND ($4 OR type = 'part') ORDER BY seq`,
            [box, releasedSeqs[0], releasedSeqs.at(-1), withRows],
          )
        ).rows;
        for (const row of parts) {
          if (row.type === 'part') {
            const whole = await this.assemble(c, box, row, check);
            if (whole && withRows) res.released.push(whole);
          } else {
            res.released.push({ box, seq: row.seq, recordId: row.record_id, type: row.type, at: row.at_ms, data: JSON.parse(row.data), valid: row.valid, error: row.error });
          }
        }
      }
      if (this.witness) {
        // under the box's row lock, in the box's order: each record is witnessed once, by one instance
        for (const rec of res.released) await this.witnessRecord(c, box, rec.seq, rec.type, rec.data, rec.valid, false);
        for (const rec of res.conflicted!) await this.witnessRecord(c, box, rec.seq, rec.type, rec.data, !check(rec), true);
      }
      const waiting = (await c.query('SELECT 1 FROM records WHERE box = $1 AND seq > $2 LIMIT 1', [box, next])).rowCount! > 0;
      res.gapAt = waiting ? next : null;
      await c.query(
        `UPDATE boxes SET next_seq = $2, last_batch_ms = $3,
           gap_since_ms = CASE WHEN $4 THEN COALESCE(gap_since_ms, $3) ELSE NULL END,
           resend_asked_ms = CASE WHEN $4 THEN resend_asked_ms ELSE NULL END
         WHERE box = $1`,
        [box, next, now, waiting],
      );
      return res;
    });
  }

  private async assemble(c: pg.PoolClient, box: string, row: { seq: number; at_ms: number; data: string }, check: (r: WireRecord, joined?: boolean) => string): Promise<StoredRecord | undefined> {
    const p = JSON.parse(row.data) as PartLike;
    if (!isLastPart(p)) return undefined;
    const count = p.count as number;
    const parts = (await c.query<{ type: string; data: string }>('SELECT type, data FROM records WHERE box = $1 AND seq > $2 AND seq <= $3 ORDER BY seq', [box, row.seq - count, row.seq])).rows.map(
      (r) => (r.type === 'part' ? (JSON.parse(r.data) as PartLike) : {}),
    );
    const joined = joinParts(p, parts);
    const data = 'data' in joined ? joined.data : null;
    const rec: WireRecord = { id: String(p.of), seq: row.seq, type: String(p.type), at: row.at_ms, data };
    const error = 'error' in joined ? joined.error : check(rec, true) || null;
    await c.query('INSERT INTO assembled (box, record_id, type, at_ms, data, valid, error, last_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING', [
      box,
      rec.id,
      rec.type,
      rec.at,
      error ? null : JSON.stringify(data),
      !error,
      error,
      row.seq,
    ]);
    return { box, seq: row.seq, recordId: rec.id, type: rec.type, at: rec.at, data, valid: !error, error };
  }

  private async witnessRecord(c: pg.PoolClient, box: string, seq: number, type: string, data: unknown, valid: boolean, conflict: boolean): Promise<void> {
    if (!valid || (type !== 'checkpoint' && type !== 'log-key') || (type === 'log-key' && conflict)) return;
    const w = this.witness!;
    const key = (await c.query<{ vkey: string; origin: string }>('SELECT vkey, origin FROM box_keys WHERE box = $1 AND trusted ORDER BY since_ms DESC, n DESC LIMIT 1', [box])).rows[0];
    const alarm = async (a: { kind: string; detail: string }) => {
      await c.query('INSERT INTO witness_alarms (box, kind, detail, seq, raised_ms) VALUES ($1, $2, $3, $4, $5)', [box, a.kind, a.detail, seq, w.now()]);
      w.log.error({ box, kind: a.kind, detail: a.detail, seq }, 'evidence log alarm');
    };
    if (type === 'log-key') {
      const rec = data as LogKeyRecord;
      const d = keyDecision(key, rec);
      if (d.alarm) await alarm(d.alarm);
      if (d.store)
        await c.query(
          `INSERT INTO box_keys (box, vkey, origin, trusted, note, since_ms) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (box, vkey) DO UPDATE SET origin = $3, trusted = $4, note = $5, since_ms = $6, n = DEFAULT`,
          [box, rec.key, rec.origin, d.trusted, rec.note, w.now()],
        );
      return;
    }
    const held = (await c.query<{ size: number; root: Buffer; time_ms: number | null }>('SELECT size, root, time_ms FROM box_checkpoints WHERE box = $1 AND ok ORDER BY n DESC LIMIT 1', [box]))
      .rows[0];
    const rec = data as CheckpointRecord;
    const d = checkpointDecision(key, held ? { size: held.size, root: held.root, time: held.time_ms ?? undefined } : undefined, seq, rec, conflict);
    await c.query('INSERT INTO box_checkpoints (box, seq, size, root, time_ms, record, ok, received_ms, conflict) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      box,
      seq,
      d.size,
      d.root,
      d.time,
      JSON.stringify(rec),
      d.ok,
      w.now(),
      conflict,
    ]);
    if (d.alarm) await alarm(d.alarm);
  }

  /** The witness's alarms, oldest first. */
  async witnessAlarms(box?: string): Promise<WitnessAlarmRow[]> {
    await this.init();
    const r = box
      ? await this.pool.query<WitnessAlarmRow>('SELECT box, kind, detail, seq FROM witness_alarms WHERE box = $1 ORDER BY id', [box])
      : await this.pool.query<WitnessAlarmRow>('SELECT box, kind, detail, seq FROM witness_alarms ORDER BY id');
    return r.rows;
  }

  /** Per box: checkpoints held and the largest size that passed. */
  async witnessBoxes(): Promise<Array<{ box: string; checkpoints: number; size: number | null }>> {
    await this.init();
    return (
      await this.pool.query<{ box: string; checkpoints: number; size: number | null }>(
        'SELECT box, COUNT(*)::int AS checkpoints, MAX(CASE WHEN ok THEN size END) AS size FROM box_checkpoints GROUP BY box ORDER BY box',
      )
    ).rows;
  }

  async segmentBySha(box: string, sha256: string): Promise<SegmentData | undefined> {
    await this.init();
    const r = await this.pool.query<{ data: string }>("SELECT data FROM records WHERE box = $1 AND type = 'segment' AND (data::jsonb)->>'sha256' = $2 LIMIT 1", [box, sha256]);
    return r.rows[0] ? (JSON.parse(r.rows[0].data) as SegmentData) : undefined;
  }

  /** One statement: of several instances, only one claims a box's gap. */
  async claimGaps(now: number, timeoutMs: number): Promise<Array<{ box: string; from: number }>> {
    await this.init();
    const r = await this.pool.query<{ box: string; next_seq: number }>(
      'UPDATE boxes SET resend_asked_ms = $1 WHERE gap_since_ms IS NOT NULL AND gap_since_ms <= $2 AND (resend_asked_ms IS NULL OR resend_asked_ms <= $2) RETURNING box, next_seq',
      [now, now - timeoutMs],
    );
    return r.rows.map((x) => ({ box: x.box, from: x.next_seq }));
  }

  async setStatus(box: string, state: string, session: number, at: number, now: number, versions: { contract?: string; agentVersion?: string; backlog?: number } = {}): Promise<boolean> {
    await this.init();
    // a will (offline) carries no backlog: the last one reported stays
    const r = await this.pool.query(
      `INSERT INTO boxes (box, status_state, status_session, status_at_ms, status_received_ms, status_contract, status_agent_version, status_backlog) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (box) DO UPDATE SET status_state = $2, status_session = $3, status_at_ms = $4, status_received_ms = $5, status_contract = $6, status_agent_version = $7,
         status_backlog = COALESCE($8, boxes.status_backlog)
       WHERE boxes.status_session IS NULL OR boxes.status_session <= $3`,
      [box, state, session, at, now, versions.contract ?? '1.0', versions.agentVersion ?? null, versions.backlog ?? null],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async count(box?: string): Promise<number> {
    await this.init();
    const r = box
      ? await this.pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM records WHERE box = $1', [box])
      : await this.pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM records');
    return r.rows[0]!.n;
  }

  async releasedSeqs(box: string): Promise<number[]> {
    await this.init();
    return (await this.pool.query<{ seq: number }>('SELECT seq FROM released WHERE box = $1 ORDER BY n', [box])).rows.map((r) => r.seq);
  }

  async box(box: string): Promise<Record<string, unknown> | undefined> {
    await this.init();
    return (await this.pool.query('SELECT * FROM boxes WHERE box = $1', [box])).rows[0];
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
