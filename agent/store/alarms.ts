import type { Store } from './store.js';
import { Outbox } from './outbox.js';
import { evidenceLog } from './evidence-log.js';

export interface AlarmRow {
  id: number;
  kind: string;
  subject: string;
  message: string;
  raised_ms: number;
  cleared_ms: number | null;
}

/**
 * Alarms: something a human must act on (camera down during a lesson, disk filling, terminal
 * quiet). One open alarm per (kind, subject): raising it again is a no-op, so callers can raise
 * on every check without flooding the provincial system.
 */
export class AlarmRepo {
  private outbox: Outbox;
  constructor(private store: Store) {
    this.outbox = new Outbox(store);
  }

  /** Returns true when the alarm is new (was not already open). */
  raise(kind: string, subject: string, message: string, at: number = this.store.now()): boolean {
    return this.store.tx(() => {
      const open = this.store.db.prepare('SELECT id FROM alarms WHERE kind = ? AND subject = ? AND cleared_ms IS NULL').get(kind, subject);
      if (open) return false;
      const id = this.store.db
        .prepare('INSERT INTO alarms (kind, subject, message, raised_ms, created_ms, expires_ms, sync_state) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(kind, subject, message, at, this.store.now(), this.store.expiresAt(at), 'pending').lastInsertRowid;
      evidenceLog(this.store).row('alarms', [Number(id)], { fresh: true });
      this.outbox.enqueue('alarm', at, { kind, subject, message, state: 'raised' });
      return true;
    });
  }

  /** Returns true when an open alarm was cleared. */
  clear(kind: string, subject: string, at: number = this.store.now()): boolean {
    return this.store.tx(() => {
      const ids = this.store.db.prepare('SELECT id FROM alarms WHERE kind = ? AND subject = ? AND cleared_ms IS NULL').pluck().all(kind, subject) as number[];
      if (!ids.length) return false;
      const upd = this.store.db.prepare('UPDATE alarms SET cleared_ms = ? WHERE id = ?');
      for (const id of ids) {
        upd.run(at, id);
        evidenceLog(this.store).row('alarms', [id]);
      }
      this.outbox.enqueue('alarm', at, { kind, subject, state: 'cleared' });
      return true;
    });
  }

  open(): AlarmRow[] {
    return this.store.db.prepare('SELECT * FROM alarms WHERE cleared_ms IS NULL ORDER BY raised_ms').all() as AlarmRow[];
  }
}
