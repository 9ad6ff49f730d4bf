import { createHash } from 'node:crypto';
import { Outbox } from './outbox.js';
import type { Store } from './store.js';

export type { InspectionStateName as InspectionState } from '../core/events.js';
import type { InspectionStateName as InspectionState } from '../core/events.js';

export interface InspectionEvent {
  inspection: string;
  camera: string;
  state: InspectionState;
  at: number;
  detail?: string;
  /** the stream key the province sent: only its SHA-256 is kept and sent back */
  key?: string;
}

/**
 * Remote live inspections as evidence: every step an appended row and an `inspection` record
 * to the province, in one transaction (60号's 远程实时巡检 leaves a trace on the box too).
 */
export class InspectionRepo {
  private outbox: Outbox;
  constructor(private store: Store) {
    this.outbox = new Outbox(store);
  }

  record(e: InspectionEvent): void {
    const now = this.store.now();
    const keySha = e.key === undefined ? null : createHash('sha256').update(e.key).digest('hex');
    this.store.tx(() => {
      this.store.db
        .prepare('INSERT INTO inspection_events (inspection, camera, state, at_ms, detail, key_sha256, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(e.inspection, e.camera, e.state, e.at, e.detail ?? null, keySha, now, this.store.expiresAt(e.at));
      this.outbox.enqueue('inspection', e.at, { inspection: e.inspection, camera: e.camera, state: e.state, at: e.at, detail: e.detail ?? null, keySha256: keySha });
    });
  }

  /** The events of one inspection, oldest first. */
  events(inspection: string): Array<{ state: InspectionState; at: number; detail: string | null }> {
    return (
      this.store.db.prepare('SELECT state, at_ms, detail FROM inspection_events WHERE inspection = ? ORDER BY id').all(inspection) as Array<{
        state: InspectionState;
        at_ms: number;
        detail: string | null;
      }>
    ).map((r) => ({ state: r.state, at: r.at_ms, detail: r.detail }));
  }
}
