import fs from 'node:fs';
import path from 'node:path';
import { statePaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import { loadOrCreateKey } from './keyfile.js';

/** The name of the face key as a systemd credential (`LoadCredential=vision.key:/etc/classroom-agent/vision.key`). */
export const KEY_CREDENTIAL = 'vision.key';
/** Set by the installed `classroom-agent` command (install.sh): where the root-owned key is. */
export const INSTALLED_KEY_ENV = 'CLASSROOM_AGENT_INSTALLED_KEY';

export interface FaceKeySource {
  file: string;
  /**
   * config: `vision.keyFile`, created when absent.
   * credential: `$CREDENTIALS_DIRECTORY/vision.key`: the installed service (systemd copies the
   *   root-owned /etc/classroom-agent/vision.key there, readable by the service alone) and the
   *   installed command run with sudo (it does the same); never created by the agent.
   * installed: the root-owned key itself, named by the installed command; read only (a command
   *   run without sudo cannot read it and is told so, instead of making a second key).
   * state: `<state>/vision.key`, the fallback of a dev or demo run without systemd, created when
   *   absent; doctor warns (a copy of the state folder then carries the key beside the face data).
   */
  source: 'config' | 'credential' | 'installed' | 'state';
  /** the file lies inside the state folder (doctor warns) */
  insideState: boolean;
}

/**
 * Where the face key is, in this order: an explicit `vision.keyFile`; the systemd credential;
 * the installed key (named by the installed command); `<state>/vision.key`. Why a credential
 * and not a plain path under /etc the service reads: the service user cannot read a root-owned
 * 0600 file, so a compromised daemon cannot read the key file later either; systemd hands over a
 * copy at start, in memory. A copy of the state folder carries no key.
 */
export function resolveFaceKey(cfg: Config, env: NodeJS.ProcessEnv = process.env): FaceKeySource {
  const state = path.resolve(statePaths(cfg).state);
  const inside = (f: string) => {
    const rel = path.relative(state, f);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  const mk = (file: string, source: FaceKeySource['source']): FaceKeySource => ({ file, source, insideState: inside(file) });
  if (cfg.vision.keyFile) return mk(path.resolve(cfg.vision.keyFile), 'config');
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir && fs.existsSync(path.join(dir, KEY_CREDENTIAL))) return mk(path.join(dir, KEY_CREDENTIAL), 'credential');
  const installed = env[INSTALLED_KEY_ENV];
  if (installed && fs.existsSync(installed)) return mk(path.resolve(installed), 'installed');
  return mk(path.join(state, 'vision.key'), 'state');
}

/** The face key's 32 bytes: created only where the agent owns the place (config, state); the credential and the installed key are read, never made. */
export function loadFaceKey(cfg: Config, env: NodeJS.ProcessEnv = process.env): Buffer {
  const k = resolveFaceKey(cfg, env);
  if (k.source === 'config' || k.source === 'state') return loadOrCreateKey(k.file);
  try {
    fs.accessSync(k.file, fs.constants.R_OK);
  } catch {
    throw new InputError('face key', [
      {
        path: k.file,
        message: `the face key ${k.file} is root's and cannot be read by this user`,
        zh: `人脸密钥 ${k.file} 属于 root，当前用户无法读取`,
        fix: { zh: '用 sudo 运行该命令（sudo classroom-agent ...）', en: 'run the command with sudo (sudo classroom-agent ...)' },
      },
    ]);
  }
  return loadOrCreateKey(k.file);
}
