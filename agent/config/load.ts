import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { InputError, zodIssues } from '../core/errors.js';
import { configSchema, type Config, type SecretRef } from './schema.js';

/**
 * Load and validate the config file. All problems are reported at once with their paths
 * (`cameras[1].rtspUrl: Invalid URL`). No file means embedded defaults (the demo).
 */
export function loadConfig(file?: string): Config {
  let doc: unknown = {};
  const source = file ?? 'embedded defaults';
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new InputError(file, [{ path: '', message: `cannot read config: ${(err as Error).message}` }]);
    }
    try {
      doc = YAML.parse(text) ?? {};
    } catch (err) {
      throw new InputError(file, [{ path: '', message: `not valid YAML: ${(err as Error).message}` }]);
    }
  }
  const r = configSchema.safeParse(doc);
  if (!r.success) throw new InputError(source, zodIssues(r.error));
  return r.data;
}

export function statePaths(cfg: Config) {
  const state = path.resolve(cfg.paths.state);
  return {
    state,
    video: path.resolve(cfg.paths.video ?? path.join(state, 'video')),
    database: path.resolve(cfg.paths.database ?? path.join(state, 'evidence.db')),
  };
}

/**
 * Resolve a secret at the moment it is needed. Files are trimmed of a trailing newline (as
 * written by `echo`); a missing env var or file is an error naming the config path.
 */
export function resolveSecret(ref: SecretRef | undefined, where: string): string | undefined {
  if (ref === undefined) return undefined;
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined) throw new InputError('config', [{ path: where, message: `environment variable ${ref.env} is not set` }]);
    return v;
  }
  try {
    return fs.readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new InputError('config', [{ path: where, message: `cannot read secret file ${ref.file}: ${(err as Error).message}` }]);
  }
}
