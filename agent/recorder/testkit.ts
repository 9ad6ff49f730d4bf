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

/**
 * A real AgentContext on a temp folder (real SQLite file, real video folder) for the
 * recorder's tests and benches. Not a mock: the same classes the daemon uses.
 */
export function makeContext(partial: Record<string, unknown>, opts: { state?: string; video?: string } = {}): AgentContext & { cleanup: () => void } {
  const state = opts.state ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ca-rec-'));
  const cfg: Config = configSchema.parse({ ...partial, paths: { state, ...(opts.video ? { video: opts.video } : {}) } });
  const video = opts.video ?? path.join(state, 'video');
  fs.mkdirSync(video, { recursive: true });
  const database = path.join(state, 'evidence.db');
  const store = new Store({ file: database });
  return {
    cfg,
    profile: loadProfile(cfg.profile),
    store,
    bus: new EventBus<AgentEvents>(),
    log: logger('recorder'),
    now: Date.now,
    paths: { state, video, database },
    cleanup: () => store.close(),
  };
}
