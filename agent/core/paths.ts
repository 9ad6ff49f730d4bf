import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

/**
 * The package root, found from this file whether it runs from dist/ (compiled) or from
 * agent/ (vitest): the first ancestor holding package.json.
 */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('classroom-agent: package root not found');
}

export const PACKAGE_ROOT = findRoot();
export const PROFILES_DIR = path.join(PACKAGE_ROOT, 'config', 'profiles');
export const MODELS_DIR = path.join(PACKAGE_ROOT, 'models');

/** This software's version (package.json), announced to the province in every status. */
export const AGENT_VERSION = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
