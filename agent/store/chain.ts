import { createHash } from 'node:crypto';
import type { Store } from './store.js';

export type ChainKind = 'recording' | 'checkin' | 'sighting' | 'verdict';

/**
 * The columns of each evidence table that a link covers: what the row says, not its
 * bookkeeping (sync_state, archived_ms, deleted_ms change legitimately after the fact).
 */
const CONTENT: Record<ChainKind, { table: string; cols: string[] }> = {
  recording: { table: 'recordings', cols: ['id', 'camera', 'run_id', 'path', 'start_ms', 'end_ms', 'bytes', 'sha256', 'recovered', 'created_ms', 'expires_ms'] },
  checkin: { table: 'checkins', cols: ['id', 'dedup_key', 'terminal', 'person', 'trainee', 'class_id', 'at_ms', 'tz_offset_min', 'verify_mode', 'similarity', 'raw_id', 'created_ms', 'expires_ms'] },
  sighting: { table: 'sightings', cols: ['id', 'trainee', 'class_id', 'camera', 'at_ms', 'recording_id', 'offset_ms', 'distance', 'margin', 'created_ms', 'expires_ms'] },
  verdict: { table: 'verdicts', cols: ['id', 'class_id', 'lesson_id', 'eligible', 'body', 'computed_ms', 'created_ms', 'expires_ms'] },
};
export const CHAIN_KINDS = Object.keys(CONTENT) as ChainKind[];
const GENESIS = '0'.repeat(64);

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** Canonical content: the covered columns in a fixed order, as a JSON array. */
const digestOf = (kind: ChainKind, row: Record<string, unknown>) => sha(JSON.stringify([kind, ...CONTENT[kind].cols.map((c) => row[c] ?? null)]));

export interface ChainLink {
  seq: number;
  kind: ChainKind;
  ref_id: number;
  digest: string;
  prev: string;
  hash: string;
  expires_ms: number;
}

export interface ChainProblem {
  seq: number;
  kind: ChainKind;
  refId: number;
  problem: 'row changed' | 'row missing' | 'link broken';
}

export class ChainRepo {
  constructor(private store: Store) {}

  head(): { seq: number; hash: string } | undefined {
    return this.store.db.prepare('SELECT seq, hash FROM evidence_chain ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  }

  /** Link the evidence rows not yet chained, at most `batch` per kind, in one transaction. Returns links added. */
  append(batch = 1000): number {
    const db = this.store.db;
    return this.store.tx(() => {
      let prev = this.head()?.hash ?? GENESIS;
      let added = 0;
      const now = this.store.now();
      const ins = db.prepare('INSERT INTO evidence_chain (kind, ref_id, digest, prev, hash, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const kind of CHAIN_KINDS) {
        const { table, cols } = CONTENT[kind];
        const last = (db.prepare('SELECT MAX(ref_id) FROM evidence_chain WHERE kind = ?').pluck().get(kind) as number | null) ?? 0;
        const rows = db.prepare(`SELECT ${cols.join(', ')} FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`).all(last, batch) as Record<string, unknown>[];
        for (const row of rows) {
          const digest = digestOf(kind, row);
          const hash = sha(prev + digest);
          ins.run(kind, row.id, digest, prev, hash, now, row.expires_ms as number);
          prev = hash;
          added++;
        }
      }
      return added;
    });
  }

  /**
   * Walk the chain (from `fromSeq`): every link must follow its predecessor and hash correctly,
   * and every row still present must match its digest. A row may be absent only when it expired
   * (retention purged it); an unexpired row gone is tampering or loss.
   */
  verify(opts: { fromSeq?: number; now?: number } = {}): { links: number; problems: ChainProblem[] } {
    const db = this.store.db;
    const now = opts.now ?? this.store.now();
    const problems: ChainProblem[] = [];
    const fetch = Object.fromEntries(
      CHAIN_KINDS.map((k) => [k, db.prepare(`SELECT ${CONTENT[k].cols.join(', ')} FROM ${CONTENT[k].table} WHERE id = ?`)]),
    ) as Record<ChainKind, ReturnType<typeof db.prepare>>;
    let expectPrev: string | undefined;
    let links = 0;
    for (const l of db.prepare('SELECT seq, kind, ref_id, digest, prev, hash, expires_ms FROM evidence_chain WHERE seq >= ? ORDER BY seq').iterate(opts.fromSeq ?? 0) as Iterable<ChainLink>) {
      links++;
      if ((expectPrev !== undefined && l.prev !== expectPrev) || sha(l.prev + l.digest) !== l.hash) problems.push({ seq: l.seq, kind: l.kind, refId: l.ref_id, problem: 'link broken' });
      expectPrev = l.hash;
      const row = fetch[l.kind].get(l.ref_id) as Record<string, unknown> | undefined;
      if (!row) {
        if (l.expires_ms >= now) problems.push({ seq: l.seq, kind: l.kind, refId: l.ref_id, problem: 'row missing' });
      } else if (digestOf(l.kind, row) !== l.digest) problems.push({ seq: l.seq, kind: l.kind, refId: l.ref_id, problem: 'row changed' });
    }
    return { links, problems };
  }

  /** Sequence from which the last `n` links start (for a bounded verification). */
  seqOfLast(n: number): number {
    return (this.store.db.prepare('SELECT seq FROM evidence_chain ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck().get(Math.max(0, n - 1)) as number | undefined) ?? 0;
  }
}
