import fs from 'node:fs';
import path from 'node:path';
import { statePaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { generateSigner, parseSignerKey, type NoteSigner } from './note.js';

/**
 * The box's log key: an Ed25519 key in Go's signed-note private-key format, in a file only the
 * agent's user can read, in a folder apart from the database (a copy of the database alone
 * cannot sign anything). Beside it: log.pub (the verifier key to give the province and auditors)
 * and `checkpoint`, the latest signed checkpoint, which lets `verify` on the box notice a
 * database restored from an older copy.
 */
export const keyFolderOf = (cfg: Config) => path.resolve(cfg.evidence?.keyFolder ?? path.join(statePaths(cfg).state, 'keys'));
/** The log's name in its checkpoints (C2SP origin) and the key's name. */
export const originOf = (cfg: Config) => `classroom-agent/${cfg.box.id}`;

export interface LogKey {
  signer: NoteSigner;
  /** true when this call created the key (first start) */
  created: boolean;
  folder: string;
}

export function loadOrCreateLogKey(folder: string, origin: string): LogKey {
  const file = path.join(folder, 'log.key');
  let created = false;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    const { signer, skey } = generateSigner(origin);
    try {
      fs.writeFileSync(file, `${skey}\n`, { mode: 0o600, flag: 'wx' });
      fs.writeFileSync(path.join(folder, 'log.pub'), `${signer.vkey}\n`, { mode: 0o644 });
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const st = fs.statSync(file);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new Error(`log key file ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
  }
  const signer = parseSignerKey(fs.readFileSync(file, 'utf8'));
  return { signer, created, folder };
}

/** The verifier key of a key folder (log.pub), without touching the private key. */
export function readPublicKey(folder: string): string | undefined {
  try {
    return fs.readFileSync(path.join(folder, 'log.pub'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The latest checkpoint kept beside the key (written after each signed checkpoint commits). */
export function readLocalCheckpoint(folder: string): string | undefined {
  try {
    return fs.readFileSync(path.join(folder, 'checkpoint'), 'utf8');
  } catch {
    return undefined;
  }
}

export function writeLocalCheckpoint(folder: string, note: string): void {
  const tmp = path.join(folder, `checkpoint.${process.pid}.tmp`);
  fs.writeFileSync(tmp, note, { mode: 0o644 });
  fs.renameSync(tmp, path.join(folder, 'checkpoint'));
}
