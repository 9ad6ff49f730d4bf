import fs from 'node:fs';
import type { Logger } from 'pino';
import { statePaths } from '../config/load.js';
import { loadProfile, type Profile } from '../config/profile.js';
import type { Config } from '../config/schema.js';
import { Store } from '../store/store.js';
import { EventBus } from './bus.js';
import type { AgentEvents } from './events.js';
import { logger } from './log.js';

/**
 * What the composition root hands each module: one typed object, not positional arguments.
 * `now` is injected so tests can drive time; modules never call Date.now() directly for evidence.
 */
export interface AgentContext {
  cfg: Config;
  profile: Profile;
  store: Store;
  bus: EventBus<AgentEvents>;
  log: Logger;
  now: () => number;
  paths: { state: string; video: string; database: string };
}

/**
 * The context for a config: its folders made, its store opened (the real SQLite file), its rule
 * profile loaded. The daemon builds its context with this, and so do the tools that run one
 * module alone (the check-in server's `serve`, the recorder's crash kit) and the tests: the same
 * classes everywhere, no mock. Throws what the store or the file system throws.
 */
export function createContext(cfg: Config, o: { profile?: Profile; now?: () => number; log?: Logger } = {}): AgentContext {
  const paths = statePaths(cfg);
  const profile = o.profile ?? loadProfile(cfg.profile);
  const now = o.now ?? Date.now;
  fs.mkdirSync(paths.state, { recursive: true });
  fs.mkdirSync(paths.video, { recursive: true });
  const store = new Store({ file: paths.database, retentionYears: profile.rules.retention.years, now });
  return { cfg, profile, store, bus: new EventBus<AgentEvents>(), log: o.log ?? logger('agent'), now, paths };
}
