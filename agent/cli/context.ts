import { Command } from 'commander';
import { loadConfig, type LoadOptions } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { formatIssue, InputError } from '../core/errors.js';
import { initLogging } from '../core/log.js';
import { pickLang, t, type Lang } from './i18n.js';

/** Exit statuses shared by every command. */
export const EXIT = { OK: 0, NOT_ELIGIBLE: 1, PROBLEM: 1, INPUT: 2, INTERNAL: 3 } as const;

export interface GlobalOpts {
  config?: string;
  state?: string;
  lang?: string;
  logLevel?: string;
}

export function globals(cmd: Command): GlobalOpts {
  return cmd.optsWithGlobals() as GlobalOpts;
}

export function langOf(cmd: Command): Lang {
  return pickLang(globals(cmd).lang);
}

/** Config from --config (or CLASSROOM_AGENT_CONFIG, or embedded defaults), with --state applied. */
export function configOf(cmd: Command, o: LoadOptions = {}): Config {
  const g = globals(cmd);
  const cfg = loadConfig(g.config ?? process.env.CLASSROOM_AGENT_CONFIG, o);
  const state = g.state ?? process.env.CLASSROOM_AGENT_STATE;
  if (state) cfg.paths = { ...cfg.paths, state, video: undefined, database: undefined };
  return cfg;
}

/** The store of a config (core/context.ts's openStore): read-only commands pass { readonly: true }. */
export { openStore } from '../core/context.js';

/**
 * Wrap a command's action: input problems exit 2 with every issue listed by path; anything
 * else exits 3 with one line (the stack only with LOG_LEVEL=debug), never a bare crash.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const g = globals(cmd);
    initLogging({ level: g.logLevel ?? process.env.LOG_LEVEL ?? 'warn', fd: 2 });
    const lang = pickLang(g.lang);
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (err) {
      if (err instanceof InputError) {
        process.stderr.write(t(lang, `输入有误 (${err.source})：\n`, `Unusable input (${err.source}):\n`));
        for (const i of err.issues) process.stderr.write(`  - ${formatIssue(i, lang)}\n`);
        process.stderr.write(t(lang, `共 ${err.issues.length} 处问题。\n`, `${err.issues.length} problem(s).\n`));
        process.exitCode = EXIT.INPUT;
      } else {
        process.stderr.write(`${t(lang, '错误', 'Error')}: ${(err as Error).message ?? String(err)}\n`);
        if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(err as Error).stack}\n`);
        process.exitCode = EXIT.INTERNAL;
      }
    }
  };
}
