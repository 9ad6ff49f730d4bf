import fs from 'node:fs';
import path from 'node:path';
import { evidenceLog } from '../store/evidence-log.js';
import type { Store } from '../store/store.js';
import { signCheckpoint } from './checkpointer.js';
import { loadOrCreateLogKey } from './keys.js';

/**
 * Retention's cut of the log: the entries at its start whose facts have all expired lose their
 * bytes (the leaf hashes stay, so the tree, every signed root and every later proof still
 * verify), a `pruned` entry records up to where and the root there, and a checkpoint is signed
 * at once so the cut itself is signed. Only a prefix is ever cut. Returns the new cut, or
 * undefined when nothing was due or the key is not there.
 */
export function cutLog(store: Store, keyFolder: string, origin: string, now: number): number | undefined {
  if (!fs.existsSync(path.join(keyFolder, 'log.key'))) return undefined;
  const log = evidenceLog(store);
  const done = store.tx(() => {
    const from = log.prunedUpTo();
    const upTo = log.pruneLimit(now);
    if (upTo <= from) return undefined;
    log.appendEvidence('pruned', { upTo, root: log.root(upTo).toString('base64'), at: now });
    log.prune(upTo);
    return upTo;
  });
  if (done !== undefined) signCheckpoint(store, loadOrCreateLogKey(keyFolder, origin), origin, true);
  return done;
}
