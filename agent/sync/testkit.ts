import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema, type Config } from '../config/schema.js';
import { createContext, type AgentContext } from '../core/context.js';
import { logger } from '../core/log.js';

/** Helpers for the sync tests and the bench: real stores, temp dirs (brokers: agent/sim/broker.ts). */
export { freePort, startAedes, type AedesBroker, type AedesOptions } from '../sim/broker.js';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ca-${tag}-`));
}

export function agentContext(dir: string, sync: Partial<Config['sync']>, box = 'box-1', extra: Record<string, unknown> = {}): AgentContext {
  return createContext(configSchema.parse({ box: { id: box }, paths: { state: dir }, sync, ...extra }), { log: logger('test') });
}

export async function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition', everyMs = 25): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
