import { randomUUID } from 'node:crypto';
import type { Store } from './store.js';

export interface OutboxRecord {
  seq: number;
  recordId: string;
  type: string;
  at: number;
  data: unknown;
}

/**
 * Records to send to the provincial system. enqueue() must be called inside the transaction
 * that writes the record itself, so a record exists if and only if it will be sent.
 * The sync module drains it and settles rows on the central side's application ack.
 */
export class Outbox {
  private insert;
  constructor(private store: Store) {
    this.insert = store.db.prepare(
      'INSERT INTO outbox (record_id, type, at_ms, payload, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  enqueue(type: string, at: number, data: unknown, recordId: string = randomUUID()): number {
    const now = this.store.now();
    return Number(this.insert.run(recordId, type, at, JSON.stringify(data), now, this.store.expiresAt(now)).lastInsertRowid);
  }

  backlog(): { count: number; oldestMs: number | null } {
    const r = this.store.db.prepare('SELECT COUNT(*) AS n, MIN(created_ms) AS oldest FROM outbox WHERE acked_ms IS NULL').get() as {
      n: number;
      oldest: number | null;
    };
    return { count: r.n, oldestMs: r.oldest };
  }
}
