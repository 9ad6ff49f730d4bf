import { randomUUID } from 'node:crypto';
import { MAX_RECORD_BYTES, splitText, type PartData, type RecordType } from '../sync/records.js';
import type { Store } from './store.js';

export interface OutboxRecord {
  seq: number;
  recordId: string;
  type: string;
  at: number;
  /** data as stored (JSON text) */
  payload: string;
  readonly data: unknown;
}

/** Inclusive [from, to] ranges of a list of sequences. */
export function toRanges(seqs: readonly number[]): Array<[number, number]> {
  const s = [...new Set(seqs)].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const n of s) {
    const last = out[out.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else out.push([n, n]);
  }
  return out;
}

interface Row {
  seq: number;
  record_id: string;
  type: string;
  at_ms: number;
  payload: string;
}

function toRecord(r: Row): OutboxRecord {
  // why lazy: the drain splices the stored JSON into the batch as is, without a parse/stringify
  return {
    seq: r.seq,
    recordId: r.record_id,
    type: r.type,
    at: r.at_ms,
    payload: r.payload,
    get data() {
      return JSON.parse(r.payload) as unknown;
    },
  };
}

/**
 * Records to send to the provincial system. enqueue() must be called inside the transaction
 * that writes the record itself, so a record exists if and only if it will be sent.
 * The sync module drains it and settles rows on the central side's application ack.
 */
export class Outbox {
  private insert;
  private selUnacked;
  private selRange;
  private selUnackedIn;
  private updAcked;
  private updSent;
  constructor(private store: Store) {
    this.insert = store.db.prepare('INSERT INTO outbox (record_id, type, at_ms, payload, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?)');
    // uses the partial index outbox_unacked(seq) WHERE acked_ms IS NULL
    this.selUnacked = store.db.prepare('SELECT seq, record_id, type, at_ms, payload FROM outbox WHERE acked_ms IS NULL AND seq > ? ORDER BY seq');
    this.selRange = store.db.prepare('SELECT seq, record_id, type, at_ms, payload FROM outbox WHERE seq >= ? AND seq <= ? ORDER BY seq');
    // only rows actually sent can be acked: a wrong ack range never settles what central never saw
    this.selUnackedIn = store.db.prepare('SELECT seq FROM outbox WHERE acked_ms IS NULL AND last_sent_ms IS NOT NULL AND seq >= ? AND seq <= ?');
    this.updAcked = store.db.prepare('UPDATE outbox SET acked_ms = ? WHERE acked_ms IS NULL AND last_sent_ms IS NOT NULL AND seq >= ? AND seq <= ?');
    this.updSent = store.db.prepare('UPDATE outbox SET sent_count = sent_count + 1, last_sent_ms = ? WHERE acked_ms IS NULL AND seq >= ? AND seq <= ?');
  }

  /**
   * Append a record (inside the caller's transaction); returns its seq. Data larger than
   * MAX_RECORD_BYTES goes as consecutive `part` records that central joins again (contract v1.1:
   * no message may exceed what a broker accepts, or it would be dropped forever); the last
   * part's seq is returned.
   */
  enqueue(type: RecordType, at: number, data: unknown, recordId: string = randomUUID(), maxRecordBytes = MAX_RECORD_BYTES): number {
    const now = this.store.now();
    const text = JSON.stringify(data);
    const expires = this.store.expiresAt(now);
    if (Buffer.byteLength(text) <= maxRecordBytes) return Number(this.insert.run(recordId, type, at, text, now, expires).lastInsertRowid);
    const slices = splitText(text, maxRecordBytes - 200);
    let seq = 0;
    slices.forEach((slice, index) => {
      const part: PartData = { of: recordId, type, index, count: slices.length, text: slice };
      seq = Number(this.insert.run(`${recordId}.${index}`, 'part', at, JSON.stringify(part), now, expires).lastInsertRowid);
    });
    return seq;
  }

  /**
   * Unacked rows after `afterSeq`, oldest first, at most `limit` rows and about `maxBytes` of
   * payload (the first row always comes, however large, so a big record cannot block the queue).
   */
  unacked(afterSeq: number, limit: number, maxBytes = Infinity): OutboxRecord[] {
    return this.pick(this.selUnacked.iterate(afterSeq) as Iterable<Row>, limit, maxBytes);
  }

  /** Every row (acked or not) from `fromSeq` up to `toSeq`: a resend asked for by the central side. */
  range(fromSeq: number, toSeq: number, limit: number, maxBytes = Infinity): OutboxRecord[] {
    return this.pick(this.selRange.iterate(fromSeq, toSeq) as Iterable<Row>, limit, maxBytes);
  }

  /** Unacked rows among these sequences (a timed-out batch is resent without its acked rows). */
  stillUnacked(seqs: readonly number[]): OutboxRecord[] {
    if (!seqs.length) return [];
    const out: OutboxRecord[] = [];
    for (let i = 0; i < seqs.length; i += 500) {
      const part = seqs.slice(i, i + 500);
      const rows = this.store.db
        .prepare(`SELECT seq, record_id, type, at_ms, payload FROM outbox WHERE acked_ms IS NULL AND seq IN (${part.map(() => '?').join(',')}) ORDER BY seq`)
        .all(...part) as Row[];
      for (const r of rows) out.push(toRecord(r));
    }
    return out;
  }

  markSent(seqs: readonly number[], at: number): void {
    this.store.tx(() => {
      for (const [a, b] of toRanges(seqs)) this.updSent.run(at, a, b);
    });
  }

  /**
   * Settle rows on the central side's application ack (never on PUBACK). Ranges are inclusive.
   * Returns the sequences newly settled (already settled rows are not counted twice).
   */
  settle(ranges: ReadonlyArray<readonly [number, number]>, at: number): number[] {
    return this.store.tx(() => {
      const out: number[] = [];
      for (const [a, b] of ranges) {
        const rows = this.selUnackedIn.all(a, b) as Array<{ seq: number }>;
        if (!rows.length) continue;
        this.updAcked.run(at, a, b);
        for (const r of rows) out.push(r.seq);
      }
      return out;
    });
  }

  maxSeq(): number {
    return (this.store.db.prepare('SELECT MAX(seq) AS m FROM outbox').get() as { m: number | null }).m ?? 0;
  }

  /** Lowest sequence still held (1 on a box that never pruned). */
  floor(): number {
    return (this.store.db.prepare('SELECT MIN(seq) AS m FROM outbox').get() as { m: number | null }).m ?? 1;
  }

  /** Bytes of unacked payload (what the box would still have to send). */
  backlogBytes(): number {
    return (this.store.db.prepare('SELECT COALESCE(SUM(LENGTH(payload)), 0) AS b FROM outbox WHERE acked_ms IS NULL').get() as { b: number }).b;
  }

  private pick(rows: Iterable<Row>, limit: number, maxBytes: number): OutboxRecord[] {
    const out: OutboxRecord[] = [];
    let bytes = 0;
    for (const r of rows) {
      if (out.length >= limit) break;
      if (out.length && bytes + r.payload.length > maxBytes) break;
      bytes += r.payload.length + 80;
      out.push(toRecord(r));
    }
    return out;
  }

  backlog(): { count: number; oldestMs: number | null } {
    const r = this.store.db.prepare('SELECT COUNT(*) AS n, MIN(created_ms) AS oldest FROM outbox WHERE acked_ms IS NULL').get() as {
      n: number;
      oldest: number | null;
    };
    return { count: r.n, oldestMs: r.oldest };
  }
}
