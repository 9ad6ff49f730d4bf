import path from 'node:path';
import { configSchema, type Config } from '../config/schema.js';
import { loadProfile } from '../config/profile.js';
import { EventBus } from '../core/bus.js';
import type { AgentContext } from '../core/context.js';
import type { AgentEvents } from '../core/events.js';
import { logger } from '../core/log.js';
import { Store } from '../store/store.js';

/**
 * An AgentContext for the check-in server alone (serve.ts, tests, bench): a real store file and
 * a config validated by the real schema. The daemon builds its own in daemon.ts.
 */
export function standaloneContext(dbFile: string, cfgDoc: unknown = {}, now: () => number = Date.now): AgentContext {
  const cfg: Config = configSchema.parse(cfgDoc);
  const store = new Store({ file: dbFile, now });
  return {
    cfg,
    profile: loadProfile(cfg.profile),
    store,
    bus: new EventBus<AgentEvents>(),
    log: logger('checkin'),
    now,
    paths: { state: path.dirname(dbFile), video: path.join(path.dirname(dbFile), 'video'), database: dbFile },
  };
}
