import { PURGE_PLAN, RetentionRepo } from '../store/retention.js';
import type { Store } from '../store/store.js';

/** Let the event loop breathe between batches so recording and check-ins are never held up. */
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Purge expired evidence metadata in bounded batches: each batch is one short transaction of at
 * most `batch` rows, so the writer lock is never held long (the recorder indexes segments and
 * terminals push check-ins meanwhile). Returns rows purged per table.
 */
export async function purgeExpired(store: Store, now: number, batch: number, signal?: AbortSignal): Promise<Record<string, number>> {
  const repo = new RetentionRepo(store);
  const out: Record<string, number> = {};
  for (const { table, where } of PURGE_PLAN) {
    let total = 0;
    for (;;) {
      if (signal?.aborted) return out;
      const n = repo.purgeBatch(table, where, now, batch);
      total += n;
      if (n < batch) break;
      await yieldToLoop();
    }
    if (total) out[table] = total;
  }
  // purged face data must not survive in the WAL's old page images either
  if (out.face_descriptors || out.face_matches || out.face_consents) store.scrub();
  return out;
}
