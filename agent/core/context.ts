import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Profile } from '../config/profile.js';
import type { Store } from '../store/store.js';
import type { EventBus } from './bus.js';
import type { AgentEvents } from './events.js';

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
