import type { Store } from './store.js';

/**
 * Key/value state of the sync module (session counter, connection, last ack, throughput,
 * pending CLI requests). The daemon writes it; `classroom-agent sync status` reads it.
 */
export class SyncMeta {
  constructor(private store: Store) {}

  get<T>(key: string): { value: T; updatedMs: number } | undefined {
    const r = this.store.db.prepare('SELECT value, updated_ms FROM sync_meta WHERE key = ?').get(key) as { value: string; updated_ms: number } | undefined;
    return r ? { value: JSON.parse(r.value) as T, updatedMs: r.updated_ms } : undefined;
  }

  set(key: string, value: unknown, at: number = this.store.now()): void {
    this.store.db
      .prepare('INSERT INTO sync_meta (key, value, updated_ms) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms')
      .run(key, JSON.stringify(value), at);
  }

  delete(key: string): void {
    this.store.db.prepare('DELETE FROM sync_meta WHERE key = ?').run(key);
  }

  /** The session a new connection will have: one more than the last connection's. */
  peekSession(): number {
    return (this.get<number>('session')?.value ?? 0) + 1;
  }

  /**
   * A connection was made with `session`: persist it, so sessions count connections (not
   * attempts) and only ever grow, across restarts too.
   */
  commitSession(session: number): void {
    this.store.tx(() => {
      if ((this.get<number>('session')?.value ?? 0) < session) this.set('session', session);
    });
  }

  /** Take a pending request (written by the CLI) exactly once. */
  take<T>(key: string): T | undefined {
    return this.store.tx(() => {
      const r = this.get<T>(key);
      if (r) this.delete(key);
      return r?.value;
    });
  }
}
