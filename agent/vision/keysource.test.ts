import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { faceKeyCheck } from '../doctor/facekey.js';
import { doctorEnv } from '../doctor/index.js';
import { INSTALLED_KEY_ENV, loadFaceKey, resolveFaceKey } from './keysource.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function box(extra = '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-key-'));
  dirs.push(dir);
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, `paths:\n  state: ${path.join(dir, 'state')}\nsync:\n  enabled: false\nvision:\n  enabled: true\n${extra}`);
  const key = (f: string, byte = 7) => {
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, Buffer.alloc(32, byte), { mode: 0o600 });
    return f;
  };
  return { dir, file, cfg: loadConfig(file), key };
}

describe('where the face key is', () => {
  it('order: vision.keyFile, then the systemd credential, then the installed key, then <state>/vision.key', () => {
    const b = box();
    const cred = path.join(b.dir, 'cred');
    const installed = path.join(b.dir, 'etc', 'vision.key');
    const state = path.join(b.dir, 'state', 'vision.key');
    // nothing anywhere: the dev/demo fallback in the state folder
    expect(resolveFaceKey(b.cfg, {})).toEqual({ file: state, source: 'state', insideState: true });
    // a credential folder without the key (other credentials only) is passed over
    fs.mkdirSync(cred);
    expect(resolveFaceKey(b.cfg, { CREDENTIALS_DIRECTORY: cred }).source).toBe('state');
    b.key(installed);
    expect(resolveFaceKey(b.cfg, { CREDENTIALS_DIRECTORY: cred, [INSTALLED_KEY_ENV]: installed })).toEqual({ file: installed, source: 'installed', insideState: false });
    b.key(path.join(cred, 'vision.key'));
    expect(resolveFaceKey(b.cfg, { CREDENTIALS_DIRECTORY: cred, [INSTALLED_KEY_ENV]: installed })).toEqual({ file: path.join(cred, 'vision.key'), source: 'credential', insideState: false });
    // an explicit keyFile wins over all of them
    const own = path.join(b.dir, 'keys', 'face.key');
    const c2 = loadConfig((fs.appendFileSync(b.file, `  keyFile: ${own}\n`), b.file));
    expect(resolveFaceKey(c2, { CREDENTIALS_DIRECTORY: cred, [INSTALLED_KEY_ENV]: installed })).toEqual({ file: own, source: 'config', insideState: false });
  });

  it('a credential or installed key is read, never created or replaced; the state fallback is created 0600', () => {
    const b = box();
    const cred = path.join(b.dir, 'cred');
    b.key(path.join(cred, 'vision.key'), 9);
    expect(loadFaceKey(b.cfg, { CREDENTIALS_DIRECTORY: cred })).toEqual(Buffer.alloc(32, 9));
    expect(fs.existsSync(path.join(b.dir, 'state', 'vision.key'))).toBe(false);
    // no credential, no installed key (a dev or demo run): made once in the state folder, 0600, then reused
    const k = loadFaceKey(b.cfg, {});
    expect(k.length).toBe(32);
    expect(fs.statSync(path.join(b.dir, 'state', 'vision.key')).mode & 0o777).toBe(0o600);
    expect(loadFaceKey(b.cfg, {})).toEqual(k);
  });

  it.skipIf(process.getuid?.() === 0)('the installed key unreadable by this user: a clear error saying to use sudo, no second key made', () => {
    const b = box();
    const installed = b.key(path.join(b.dir, 'etc', 'vision.key'));
    fs.chmodSync(installed, 0o000);
    expect(() => loadFaceKey(b.cfg, { [INSTALLED_KEY_ENV]: installed })).toThrow(/cannot be read by this user/);
    expect(fs.existsSync(path.join(b.dir, 'state', 'vision.key'))).toBe(false);
  });
});

describe('doctor: face key location', () => {
  const run = async (cfg: ReturnType<typeof loadConfig>, env: NodeJS.ProcessEnv) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return await faceKeyCheck.run(doctorEnv({ cfg }));
    } finally {
      for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
    }
  };

  it('warns when the key sits inside the state folder, with the way out; ok when it comes as a credential', async () => {
    const b = box();
    const inState = await run(b.cfg, {});
    expect(inState.status).toBe('warn');
    expect(inState.detail).toContain(path.join(b.dir, 'state', 'vision.key'));
    expect(inState.fix?.en).toMatch(/install\.sh.*LoadCredential|install\.sh.*systemd credential/);
    const cred = path.join(b.dir, 'cred');
    b.key(path.join(cred, 'vision.key'));
    const asCred = await run(b.cfg, { CREDENTIALS_DIRECTORY: cred });
    expect([asCred.status, asCred.detail]).toEqual(['ok', `${path.join(cred, 'vision.key')} (credential): apart from the state folder`]);
    // a keyFile pointing into the state folder is no better
    const c2 = loadConfig((fs.appendFileSync(b.file, `  keyFile: ${path.join(b.dir, 'state', 'sub', 'k')}\n`), b.file));
    expect((await run(c2, { CREDENTIALS_DIRECTORY: cred })).status).toBe('warn');
  });
});
