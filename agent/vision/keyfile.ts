import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** AES-256-GCM sealed bytes; the AAD binds a ciphertext to its row (trainee, model). */
export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/**
 * The face-data key: 32 random bytes in a file only the agent's user can read. Created on first
 * use (mode 0600, exclusive create so two processes never write different keys). A key file
 * readable by group or others is refused: face descriptors are biometric data (PIPL, and the
 * 2025 face-recognition measures require encryption and access control).
 */
export function loadOrCreateKey(file: string): Buffer {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      fs.writeFileSync(file, crypto.randomBytes(32), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const st = fs.statSync(file);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new Error(`face key file ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
  }
  const key = fs.readFileSync(file);
  if (key.length !== 32) throw new Error(`face key file ${file} must hold exactly 32 bytes (has ${key.length})`);
  return key;
}

export function seal(key: Buffer, plain: Buffer, aad: string): Sealed {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([c.update(plain), c.final()]);
  return { iv, tag: c.getAuthTag(), data };
}

/** Throws when the key is wrong or the row was tampered with (GCM authentication). */
export function open(key: Buffer, s: Sealed, aad: string): Buffer {
  const d = crypto.createDecipheriv('aes-256-gcm', key, s.iv);
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(s.tag);
  return Buffer.concat([d.update(s.data), d.final()]);
}

export const descriptorToBytes = (d: Float32Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
export const bytesToDescriptor = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
