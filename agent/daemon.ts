import type { Logger } from 'pino';
import { loadProfile, type Profile } from './config/profile.js';
import { statePaths } from './config/load.js';
import type { Config } from './config/schema.js';
import { createContext, type AgentContext } from './core/context.js';
import { InputError } from './core/errors.js';
import { logger } from './core/log.js';
import type { Module } from './core/module.js';
import { SdNotify } from './core/sdnotify.js';
import { CheckinServer } from './checkin/server.js';
import { ConsoleServer } from './console/server.js';
import { Health } from './health/health.js';
import { Inspection } from './inspection/inspection.js';
import { LessonMonitor } from './lessons/monitor.js';
import { Recorder } from './recorder/recorder.js';
import { SyncClient } from './sync/client.js';
import { VisionModule } from './vision/module.js';
import { Checkpointer } from './evidence/checkpointer.js';
import { ensureMarker } from './retention/reconcile.js';
import { Retention } from './retention/retention.js';
import { AlarmRepo } from './store/alarms.js';

/**
 * Exit statuses of `classroom-agent run`. Distinct so that systemd (RestartPreventExitStatus=2)
 * and a technician reading `systemctl status` can tell a bad config from a broken disk.
 */
export const DAEMON_EXIT = {
  OK: 0,
  /** config file or rule profile unusable: fix the file, restarting will not help */
  CONFIG: 2,
  /** an unexpected error (bug) escaped a module */
  INTERNAL: 3,
  /** the evidence store cannot be opened or migrated (disk, permissions, corruption) */
  STORE: 4,
  /** shutdown did not finish within its hard limit; killed ourselves */
  STOP_TIMEOUT: 5,
  /** a second SIGINT/SIGTERM during shutdown */
  SIGNAL_TWICE: 130,
} as const;

/**
 * The context a module gets: the shared one with the module's own logger, so that its lines
 * (and those of everything it hands ctx to) carry its namespace (`ca:recorder`), not the daemon's.
 */
export const own = (ctx: AgentContext, ns: string): AgentContext => ({ ...ctx, log: logger(ns) });

/** Builds one module (or none, when its feature is disabled in the config). */
export type ModuleFactory = (ctx: AgentContext) => Module | null | undefined;

/**
 * The modules, in start order; they stop in reverse. Sync comes first so it is the last to stop
 * and can publish the daemon's 'stopped' status after the recorder has closed its segments.
 * Vision starts after the recorder so that it hears every segment; the lesson monitor after
 * both so that its first judgement sees them running.
 */
export const MODULE_FACTORIES: ModuleFactory[] = [
  (ctx) => (ctx.cfg.sync.enabled ? new SyncClient(own(ctx, 'sync')) : null),
  // right after sync: it stops after every writer, so its last checkpoint covers the segments the
  // recorder closed at stop, and sync can still send it
  (ctx) => new Checkpointer(own(ctx, 'evidence')),
  // right after sync: its requests come over MQTT, and it stops its pushes before sync goes
  (ctx) => (ctx.cfg.sync.enabled && ctx.cfg.inspection.enabled ? new Inspection(own(ctx, 'inspection')) : null),
  (ctx) => new Recorder(own(ctx, 'recorder')),
  (ctx) => new CheckinServer(own(ctx, 'checkin')),
  (ctx) => (ctx.cfg.vision.enabled ? new VisionModule(own(ctx, 'vision')) : null),
  (ctx) => new LessonMonitor(ctx),
  (ctx) => new Retention(ctx),
  (ctx) => new Health(ctx),
  // last: it only reads what the others write, and stops first
  (ctx) => new ConsoleServer(ctx),
];

export interface DaemonOptions {
  cfg: Config;
  /** default: loadProfile(cfg.profile) */
  profile?: Profile;
  factories?: readonly ModuleFactory[];
  now?: () => number;
  /** a module whose start() takes longer is reported failed and the others start anyway */
  startTimeoutMs?: number;
  /** total time the modules get to stop, shared in order; what is left when one hangs goes to the next */
  stopBudgetMs?: number;
  /** longest one module may take to stop */
  moduleStopMs?: number;
  /** called once the context exists, before any module starts (the demo subscribes to the bus here) */
  onContext?: (ctx: AgentContext) => void;
}

type ModuleState = 'created' | 'starting' | 'running' | 'failed' | 'stopping' | 'stopped';

interface Entry {
  module: Module;
  state: ModuleState;
  error?: string;
}

/** Thrown by start() when the store cannot be opened: exit status STORE. */
export class StoreOpenError extends Error {
  constructor(
    readonly file: string,
    cause: Error,
  ) {
    super(`cannot open the evidence store ${file}: ${cause.message}`);
    this.name = 'StoreOpenError';
  }
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });

/**
 * The composition root: builds the context (config, profile, store, bus, logger), builds the
 * modules from the factories, starts them in order and stops them in reverse. Every start and
 * stop is isolated: a module that throws (or hangs) is logged, raised as an alarm and skipped;
 * the others run on. Startup is cancellable: stop() during start() aborts between modules.
 */
export class Daemon {
  ctx: AgentContext | undefined;
  private entries: Entry[] = [];
  private abort = new AbortController();
  private starting: Promise<void> | undefined;
  private stopped = false;
  private log: Logger = logger('daemon');

  constructor(private opts: DaemonOptions) {}

  /** State of each module, for status displays and tests. */
  modules(): { name: string; state: ModuleState; error?: string }[] {
    return this.entries.map((e) => ({ name: e.module.name, state: e.state, ...(e.error ? { error: e.error } : {}) }));
  }

  failed(): string[] {
    return this.entries.filter((e) => e.state === 'failed').map((e) => e.module.name);
  }

  /** Build the context. Throws InputError (config/profile) or StoreOpenError. */
  buildContext(): AgentContext {
    const cfg = this.opts.cfg;
    const profile = this.opts.profile ?? loadProfile(cfg.profile);
    let ctx: AgentContext;
    try {
      ctx = createContext(cfg, { profile, now: this.opts.now, log: this.log });
    } catch (err) {
      throw new StoreOpenError(statePaths(cfg).database, err as Error);
    }
    try {
      // before any module records: lets retention tell an unmounted video disk from an empty one
      ensureMarker(ctx.store, ctx.paths.video, cfg.box.id);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, video: ctx.paths.video }, 'cannot write the video folder marker');
    }
    return ctx;
  }

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const signal = this.abort.signal;
    const ctx = (this.ctx = this.buildContext());
    this.opts.onContext?.(ctx);
    const alarms = new AlarmRepo(ctx.store);
    for (const factory of this.opts.factories ?? MODULE_FACTORIES) {
      if (signal.aborted) break;
      let module: Module | null | undefined;
      try {
        module = factory(ctx);
      } catch (err) {
        // a constructor should do nothing, but a factory that throws must not stop the daemon
        this.log.error({ err: (err as Error).message }, 'module factory failed');
        alarms.raise('module-failed', 'factory', `a module could not be built: ${(err as Error).message}`, ctx.now());
        continue;
      }
      if (!module) continue;
      const entry: Entry = { module, state: 'starting' };
      this.entries.push(entry);
      try {
        await withTimeout(module.start(), this.opts.startTimeoutMs ?? 30_000, `${module.name}.start()`);
        entry.state = 'running';
        alarms.clear('module-failed', module.name, ctx.now());
        this.log.info({ module: module.name }, 'module started');
      } catch (err) {
        // a config mistake found by a module (a secret that cannot be read) is the whole
        // daemon's: it stops and exits CONFIG instead of running with half its modules
        if (err instanceof InputError) {
          entry.state = 'failed';
          throw err;
        }
        entry.state = 'failed';
        entry.error = (err as Error).message;
        this.log.error({ module: module.name, err: entry.error }, 'module failed to start; the others run on');
        try {
          alarms.raise('module-failed', module.name, `${module.name} failed to start: ${entry.error}`, ctx.now());
        } catch {
          // the alarm is a courtesy; the log line above already says it
        }
      }
    }
  }

  /**
   * Stop everything in reverse order within the stop budget, then close the store. Safe to call
   * more than once and during start().
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    const budget = this.opts.stopBudgetMs ?? 8000;
    const perModule = this.opts.moduleStopMs ?? 5000;
    const deadline = Date.now() + budget;
    if (this.starting) {
      // let the module being started finish (or time out) before stopping it
      await withTimeout(this.starting, Math.max(100, deadline - Date.now()), 'startup').catch((err) => this.log.error({ err: (err as Error).message }, 'startup did not settle before stop'));
    }
    const ctx = this.ctx;
    for (const entry of [...this.entries].reverse()) {
      if (entry.state === 'stopped') continue;
      const left = deadline - Date.now();
      entry.state = 'stopping';
      try {
        await withTimeout(entry.module.stop(), Math.max(100, Math.min(perModule, left)), `${entry.module.name}.stop()`);
        this.log.info({ module: entry.module.name }, 'module stopped');
      } catch (err) {
        this.log.error({ module: entry.module.name, err: (err as Error).message }, 'module did not stop cleanly; stopping the others');
      }
      entry.state = 'stopped';
    }
    if (ctx) {
      try {
        ctx.store.close();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'closing the store failed');
      }
    }
  }
}

export interface RunOptions extends DaemonOptions {
  notify?: SdNotify;
  /** hard limit from the first signal to exit; the unit's TimeoutStopSec is longer */
  hardExitMs?: number;
  /** for tests: called instead of process.exit */
  exit?: (code: number) => void;
}

/**
 * `classroom-agent run`: start the daemon, tell systemd, and on SIGTERM/SIGINT stop everything
 * and exit within the hard limit (10 s) whatever a module does. Resolves with the exit status;
 * the process exits with it.
 */
export async function runDaemon(opts: RunOptions): Promise<number> {
  const log = logger('daemon');
  const notify = opts.notify ?? new SdNotify();
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const daemon = new Daemon(opts);
  let exitCode: number = DAEMON_EXIT.OK;
  let stopping: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const shutdown = (why: string, code: number = DAEMON_EXIT.OK) => {
    if (stopping) return stopping;
    exitCode = code;
    const t0 = Date.now();
    log.info({ why }, 'stopping');
    const hard = setTimeout(() => {
      log.fatal({ why, ms: Date.now() - t0 }, 'shutdown exceeded its hard limit; exiting now');
      exit(DAEMON_EXIT.STOP_TIMEOUT);
    }, opts.hardExitMs ?? 9500);
    hard.unref();
    stopping = (async () => {
      // not awaited: a slow systemd-notify must not eat the shutdown budget
      void notify.stopping();
      await daemon.stop();
      clearTimeout(hard);
      log.info({ ms: Date.now() - t0, code: exitCode }, 'stopped');
      resolveDone();
    })();
    return stopping;
  };

  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ sig }, 'second signal during shutdown; exiting now');
      exit(DAEMON_EXIT.SIGNAL_TWICE);
      return;
    }
    void shutdown(sig);
  };
  // why: modules unref their timers; without one ref'd handle an idle daemon (no cameras yet)
  // would fall off the event loop and Node would exit with status 13 (unsettled await)
  const keepAlive = setInterval(() => undefined, 1 << 30);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // why: an error thrown by a bus listener surfaces here; log it and stop cleanly (systemd restarts
  // us) rather than dying mid-write. The store's transactions keep the evidence consistent.
  const onFatal = (err: unknown) => {
    log.fatal({ err: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) }, 'unexpected error');
    void shutdown('uncaught error', DAEMON_EXIT.INTERNAL);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);

  try {
    await daemon.start();
  } catch (err) {
    const code = err instanceof InputError ? DAEMON_EXIT.CONFIG : err instanceof StoreOpenError ? DAEMON_EXIT.STORE : DAEMON_EXIT.INTERNAL;
    log.fatal({ err: (err as Error).message }, 'startup failed');
    await daemon.stop().catch(() => undefined);
    cleanup();
    if (err instanceof InputError) throw err; // the CLI prints every issue with its path
    process.stderr.write(`${(err as Error).message}\n`);
    return code;
  }
  if (!stopping) {
    const failed = daemon.failed();
    await notify.ready(failed.length ? `running; failed: ${failed.join(', ')}` : 'running');
    const every = notify.startWatchdog();
    log.info({ modules: daemon.modules(), watchdogMs: every ?? null, pid: process.pid }, 'daemon running');
  }
  await done;
  cleanup();
  return exitCode;

  function cleanup() {
    clearInterval(keepAlive);
    notify.stopWatchdog();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  }
}
