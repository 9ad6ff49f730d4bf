import pg from 'pg';
import type { WireRecord } from '../sync/contract.js';
import type { BatchResult, StoredRecord } from './db.js';
import { isLastPart, joinParts, type CentralStore, type PartLike, type SegmentData } from './store.js';

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
ALTER TABLE boxes ADD COLUMN IF NOT EXISTS status_backlog BIGINT;
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
    await c.query(sql);
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [lock]).catch(() => undefined);
    c.release();
  }
}

export class PgCentralDb implements CentralStore {
  readonly pool: pg.Pool;
  private ready?: Promise<void>;

  constructor(url: string, opts: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: opts.max ?? 4 });
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
    return this.tx(async (c) => {
      await c.query('INSERT INTO boxes (box) VALUES ($1) ON CONFLICT DO NOTHING', [box]);
      // the per-box lock: storing and releasing one box's records is serial across instances
      const locked = await c.query<{ next_seq: number }>('SELECT next_seq FROM boxes WHERE box = $1 FOR UPDATE', [box]);
      let next = Math.max(locked.rows[0]!.next_seq, floor);
      const res: BatchResult = { committed: [], fresh: 0, duplicates: 0, invalid: 0, conflicts: 0, released: [], gapAt: null };
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
          // same seq, different record id: kept aside for a human, and acked (it is stored)
          await c.query('INSERT INTO conflicts (box, seq, record_id, body, received_ms) VALUES ($1, $2, $3, $4, $5)', [box, r.seq, r.id, JSON.stringify(r), now]);
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
