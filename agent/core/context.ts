import fs from 'node:fs';
import type { Logger } from 'pino';
import { statePaths } from '../config/load.js';
import { loadProfile, type Profile } from '../config/profile.js';
import type { Config } from '../config/schema.js';
import { pendingMigrations } from '../store/migrate.js';
import { MIGRATIONS } from '../store/migrations/index.js';
import { Store } from '../store/store.js';
import { InputError } from './errors.js';
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
  const store = openStore(cfg, { profile, now });
  return { cfg, profile, store, bus: new EventBus<AgentEvents>(), log: o.log ?? logger('agent'), now, paths };
}

export interface OpenStoreOptions {
  /** open without writing: never creates, migrates or changes the file (read-only commands, doctor) */
  readonly?: boolean;
  /** default: loadProfile(cfg.profile) */
  profile?: Profile;
  now?: () => number;
}

/**
 * The one way from a config to its evidence store, for the daemon, the CLI and the tools alike:
 * so rows written anywhere (a class imported through the CLI) expire after the rule profile's
 * retention years, never a default. Read-only opens refuse a missing or not yet migrated
 * database with a sentence and a fix instead of creating or migrating it.
 */
export function openStore(cfg: Config, o: OpenStoreOptions = {}): Store {
  const file = statePaths(cfg).database;
  if (o.readonly) {
    if (!fs.existsSync(file)) {
      throw new InputError('store', [
        {
          path: '',
          message: `there is no evidence store yet (${file}): the daemon has not run with this config`,
          zh: `还没有证据数据库（${file}）：守护进程尚未以此配置运行过`,
          fix: {
            zh: '启动守护进程（systemctl start classroom-agent），或用 --config / --state 指向正确的目录',
            en: 'start the daemon (systemctl start classroom-agent), or point --config / --state at the right folder',
          },
        },
      ]);
    }
    const store = new Store({ file, readonly: true, now: o.now });
    const pending = pendingMigrations(store.db, MIGRATIONS);
    if (pending.length) {
      store.close();
      throw new InputError('store', [
        {
          path: '',
          message: `the evidence store ${file} is from an older version (${pending.length} migration(s) pending)`,
          zh: `证据数据库 ${file} 来自旧版本（有 ${pending.length} 个待执行的迁移）`,
          fix: {
            zh: '重启守护进程让它升级数据库（systemctl restart classroom-agent），再运行此命令',
            en: 'restart the daemon so it upgrades the store (systemctl restart classroom-agent), then run this again',
          },
        },
      ]);
    }
    return store;
  }
  const profile = o.profile ?? loadProfile(cfg.profile);
  return new Store({ file, retentionYears: profile.rules.retention.years, now: o.now });
}
