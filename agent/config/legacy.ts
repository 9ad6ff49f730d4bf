import type { InputIssue } from '../core/errors.js';
import { logger } from '../core/log.js';

/**
 * Keys renamed in config files and rule profiles, old → new. Files written with an old name keep
 * loading: the value moves to the new name and a warning (not an error) names both. This table is
 * the one place the old spellings may be written (agent/config/spelling.test.ts checks the rest).
 */
export interface KeyAlias {
  /** path of the old key, e.g. ['vision', 'enrolMinFacePx'] */
  old: readonly string[];
  /** path of the new key, in the same object */
  now: readonly string[];
}

/** The agent's config file (docs/design.md §7: one spelling, *enroll*). */
export const CONFIG_ALIASES: readonly KeyAlias[] = [
  { old: ['vision', 'enrolMinFacePx'], now: ['vision', 'enrollMinFacePx'] },
  { old: ['vision', 'enrolMinSharpness'], now: ['vision', 'enrollMinSharpness'] },
  { old: ['vision', 'enrolMinPhotos'], now: ['vision', 'enrollMinPhotos'] },
];

/** A rule profile's file (a school's own copy of an older profile). */
export const PROFILE_ALIASES: readonly KeyAlias[] = [{ old: ['rules', 'reenrol-cooldown'], now: ['rules', 'reenroll-cooldown'] }];

/**
 * Rule ids as verdicts stored before the rename carry them (evidence is never rewritten): the
 * renderer names them as their new id.
 */
export const RULE_ID_ALIASES: Readonly<Record<string, string>> = { 'reenrol-cooldown': 'reenroll-cooldown' };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Move each old key of a parsed document (in place) to its new name. Returns the warnings (old
 * name used) and the errors (both names written: which one wins would be a guess).
 */
export function applyAliases(doc: unknown, aliases: readonly KeyAlias[]): { warnings: InputIssue[]; errors: InputIssue[] } {
  const warnings: InputIssue[] = [];
  const errors: InputIssue[] = [];
  for (const a of aliases) {
    let parent: unknown = doc;
    for (const k of a.old.slice(0, -1)) parent = isObj(parent) ? parent[k] : undefined;
    const oldKey = a.old[a.old.length - 1];
    const newKey = a.now[a.now.length - 1];
    if (!isObj(parent) || !(oldKey in parent)) continue;
    const oldPath = a.old.join('.');
    const newPath = a.now.join('.');
    if (newKey in parent) {
      errors.push({
        path: oldPath,
        message: `${oldPath} is the old name of ${newPath}, and both are written`,
        zh: `${oldPath} 是 ${newPath} 的旧名，两个都写了`,
        fix: { zh: `删掉 ${oldPath}，只留 ${newPath}`, en: `remove ${oldPath}; keep ${newPath}` },
      });
      delete parent[oldKey]; // reported here: not again as an unknown key
      continue;
    }
    parent[newKey] = parent[oldKey];
    delete parent[oldKey];
    warnings.push({
      path: oldPath,
      message: `${oldPath} is the old name of ${newPath}; still read, but rename it`,
      zh: `${oldPath} 是旧名，新名为 ${newPath}；仍可读取，请改名`,
      fix: { zh: `把 ${oldPath} 改名为 ${newPath}`, en: `rename ${oldPath} to ${newPath}` },
    });
  }
  return { warnings, errors };
}

const log = logger('config');

/** Where warnings go when the caller does not collect them: the log, once per load. */
export function logWarnings(source: string, warnings: readonly InputIssue[]): void {
  for (const w of warnings) log.warn({ source, path: w.path, line: w.line }, w.message);
}
