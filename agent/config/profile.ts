import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { InputError, type InputIssue, zodIssues } from '../core/errors.js';
import { PROFILES_DIR } from '../core/paths.js';
import { applyAliases, logWarnings, PROFILE_ALIASES } from './legacy.js';

/**
 * A rule profile: every number of a province's notice, each beside the sentence it comes from.
 * The compliance engine receives a parsed Profile; it never reads files itself.
 */
const provenance = { source: z.string().min(1), verified: z.boolean().default(true), enabled: z.boolean().default(true) };
const rule = <T extends z.ZodRawShape>(shape: T) => z.object({ ...shape, ...provenance }).strict();

export const profileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case id of letters, digits and dashes'),
    name: z.string(),
    basis: z.array(z.string()).default([]),
    timezone: z.string().default('Asia/Shanghai'),
    continuityToleranceSeconds: z.number().min(0).max(60),
    rules: z
      .object({
        'class-size': rule({ max: z.number().int().positive() }),
        'teacher-ratio': rule({ traineesPerTeacher: z.number().positive() }),
        'workstation-ratio': rule({ traineesPerWorkstation: z.number().positive() }),
        'teacher-certified': rule({}),
        'lesson-length': rule({ minMinutes: z.number().positive() }),
        'practical-share': rule({ min: z.number().min(0).max(1) }),
        'online-share': rule({ max: z.number().min(0).max(1) }),
        'theory-recording': rule({ toleranceSeconds: z.number().min(0) }),
        'practical-continuous-video': rule({ minMinutes: z.number().positive() }),
        'trainee-on-camera': rule({ minLessons: z.number().int().min(0) }),
        'makeup-recording': rule({ toleranceSeconds: z.number().min(0) }),
        satisfaction: rule({ min: z.number().min(0).max(1) }),
        'reenroll-cooldown': rule({ months: z.number().int().min(0) }),
        retention: rule({ years: z.number().positive() }),
      })
      .strict(),
  })
  .strict();

export type Profile = z.infer<typeof profileSchema>;
export type RuleId = Exclude<keyof Profile['rules'], 'retention'>;

export function parseProfile(doc: unknown, source: string): Profile {
  const r = profileSchema.safeParse(doc);
  if (!r.success) throw new InputError(source, zodIssues(r.error));
  return r.data;
}

export function listProfiles(dir: string = PROFILES_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

const cache = new Map<string, Profile>();
/** per loaded profile, its old key names (still read): `config check` prints them */
const legacy = new WeakMap<Profile, InputIssue[]>();

/** The warnings of a loaded profile (old key names it still uses). */
export function profileWarnings(p: Profile): readonly InputIssue[] {
  return legacy.get(p) ?? [];
}

/**
 * Load a profile by id (a file `<id>.yaml` in the profiles folder) or by path. The file's `id`
 * must match its name, so a renamed copy cannot silently pass as another province's rules.
 */
export function loadProfile(idOrPath: string, dir: string = PROFILES_DIR): Profile {
  const byPath = idOrPath.includes('/') || /\.ya?ml$/.test(idOrPath);
  const file = byPath ? path.resolve(idOrPath) : path.join(dir, `${idOrPath}.yaml`);
  const hit = cache.get(file);
  if (hit) return hit;
  if (!fs.existsSync(file)) {
    throw new InputError('profile', [{ path: 'profile', message: `unknown profile "${idOrPath}" (known: ${listProfiles(dir).join(', ') || 'none'})` }]);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(file, [{ path: '', message: `not valid YAML: ${(err as Error).message}` }]);
  }
  const renamed = applyAliases(doc, PROFILE_ALIASES);
  if (renamed.errors.length) throw new InputError(file, renamed.errors);
  const p = parseProfile(doc, file);
  if (renamed.warnings.length) {
    legacy.set(p, renamed.warnings);
    logWarnings(file, renamed.warnings);
  }
  if (!byPath && p.id !== idOrPath) {
    throw new InputError(file, [{ path: 'id', message: `profile file ${idOrPath}.yaml declares id "${p.id}"` }]);
  }
  cache.set(file, p);
  return p;
}
