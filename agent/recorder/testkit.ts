import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../config/schema.js';
import { createContext, type AgentContext } from '../core/context.js';
import { logger } from '../core/log.js';

/**
 * A real AgentContext on a temp folder (real SQLite file, real video folder) for the
 * recorder's tests and benches. Not a mock: the same classes the daemon uses.
 */
export function makeContext(partial: Record<string, unknown>, opts: { state?: string; video?: string } = {}): AgentContext & { cleanup: () => void } {
  const state = opts.state ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ca-rec-'));
  const ctx = createContext(configSchema.parse({ ...partial, paths: { state, ...(opts.video ? { video: opts.video } : {}) } }), { log: logger('recorder') });
  return { ...ctx, cleanup: () => ctx.store.close() };
}
