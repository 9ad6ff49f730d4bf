import fs from 'node:fs';
import type { Config } from '../config/schema.js';
import { Store } from '../store/store.js';
import type { InputError } from '../core/errors.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** A bilingual text: the technician reads Chinese first, the maintainers English. */
export interface Bilingual {
  zh: string;
  en: string;
}

export interface CheckResult {
  id: string;
  status: CheckStatus;
  title: Bilingual;
  /** what was found, in figures */
  detail: string;
  /** what to do about it (for warn and fail) */
  fix?: Bilingual;
}

/** What every check may use. cfg is undefined when the config did not load (configError says why). */
export interface DoctorEnv {
  configFile?: string;
  cfg?: Config;
  configError?: InputError;
  now: number;
  paths?: { state: string; video: string; database: string };
}

/**
 * One doctor check: a small function from the environment to a result. It never throws: the
 * runner turns an exception into a failed result naming the check.
 */
export interface Check {
  id: string;
  title: Bilingual;
  run(env: DoctorEnv): Promise<Omit<CheckResult, 'id' | 'title'>>;
}

export const needsConfig = (env: DoctorEnv): Omit<CheckResult, 'id' | 'title'> | undefined =>
  env.cfg ? undefined : { status: 'warn', detail: 'skipped: the config did not load', fix: { zh: '先修好配置文件（见 config 检查）', en: 'fix the config first (see the config check)' } };

/**
 * Read the evidence store without writing to it (doctor runs beside the daemon, maybe as
 * another user): undefined when there is no store yet. Closed after `fn` has finished, awaited.
 */
export async function readStore<T>(file: string, fn: (s: Store) => T | Promise<T>): Promise<T | undefined> {
  if (!fs.existsSync(file)) return undefined;
  const s = new Store({ file, readonly: true });
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}
