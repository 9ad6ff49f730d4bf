import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema, type Config } from '../config/schema.js';
import { loadProfile } from '../config/profile.js';
import { EventBus } from '../core/bus.js';
import type { AgentContext } from '../core/context.js';
import type { AgentEvents } from '../core/events.js';
import { logger } from '../core/log.js';
import { Store } from '../store/store.js';

/** Helpers for the sync tests and the bench: real stores, temp dirs (brokers: agent/sim/broker.ts). */
export { freePort, startAedes, type AedesBroker, type AedesOptions } from '../sim/broker.js';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ca-${tag}-`));
}

export function agentContext(dir: string, sync: Partial<Config['sync']>, box = 'box-1', extra: Record<string, unknown> = {}): AgentContext {
  const cfg = configSchema.parse({ box: { id: box }, paths: { state: dir }, sync, ...extra });
  const store = new Store({ file: path.join(dir, 'evidence.db') });
  return {
    cfg,
    profile: loadProfile(cfg.profile),
    store,
    bus: new EventBus<AgentEvents>(),
    log: logger('test'),
    now: Date.now,
    paths: { state: dir, video: path.join(dir, 'video'), database: path.join(dir, 'evidence.db') },
  };
}

export async function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition', everyMs = 25): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

