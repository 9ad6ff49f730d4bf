import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { scanAudit } from './secrets-scan.js';

const DIST = path.join(PACKAGE_ROOT, 'dist', 'agent');
const HOOK = `--import=${pathToFileURL(path.join(PACKAGE_ROOT, 'agent', 'testing', 'audit-hook.mjs')).href}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-secrets-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A node process audited into its own folder (not the run's), so this file can look at it. */
function audited(args: string[], input?: string) {
  const dir = fs.mkdtempSync(path.join(tmp, 'audit-'));
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', input, env: { ...process.env, LANG: 'en_US.UTF-8', CA_SECRET_AUDIT_DIR: dir, NODE_OPTIONS: HOOK } });
  return { ...r, leaks: scanAudit(dir) };
}

const PW = 'Cam-Pa55-9xQ';

describe('secrets never printed', () => {
  it('the audit catches a resolved secret written to a log line or to stdout (so it can fail)', () => {
    const script = `
      const { resolveSecret } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'config', 'load.js')).href)});
      const { logger } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'core', 'log.js')).href)});
      const pw = resolveSecret({ env: 'CAM_PW' }, 'cameras[0].password');
      logger('test').warn({ detail: 'login failed for rtsp://admin:' + pw + '@10.0.0.5/s' }, 'careless');
    `;
    fs.writeFileSync(path.join(tmp, 'leak.mjs'), script);
    const dir = fs.mkdtempSync(path.join(tmp, 'audit-'));
    const r = spawnSync(process.execPath, [path.join(tmp, 'leak.mjs')], { encoding: 'utf8', env: { ...process.env, CAM_PW: PW, CA_SECRET_AUDIT_DIR: dir, NODE_OPTIONS: HOOK } });
    expect(r.status).toBe(0);
    expect(scanAudit(dir)).toHaveLength(1);
    const leak = scanAudit(dir)[0];
    expect(leak.context).toContain('rtsp://admin:');
    expect(leak.context).not.toContain(PW); // the report itself does not print it again
  });

  it("probe masks the camera password in its own lines and in ffprobe's messages", () => {
    const url = `rtsp://admin:${PW}@127.0.0.1:9/Streaming/Channels/101`;
    const r = audited([path.join(DIST, 'cli', 'main.js'), '--lang', 'en', 'probe', url, '--seconds', '2']);
    expect(r.status).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain('rtsp://admin:***@127.0.0.1:9');
    expect(`${r.stdout}${r.stderr}`).not.toContain(PW);
    expect(r.leaks).toEqual([]);
  });

  it('doctor masks the camera password of a camera that does not answer', () => {
    const pwFile = path.join(tmp, 'cam-pw');
    fs.writeFileSync(pwFile, `${PW}\n`, { mode: 0o600 });
    const cfg = path.join(tmp, 'doctor.yaml');
    fs.writeFileSync(
      cfg,
      `paths: { state: ${path.join(tmp, 'state')} }\nsync: { enabled: false }\nvision: { enabled: false }\ncameras: [{ id: cam-1, rtspUrl: "rtsp://127.0.0.1:9/s", username: admin, password: { file: ${pwFile} } }]\n`,
    );
    const r = audited([path.join(DIST, 'cli', 'main.js'), '--lang', 'en', '-c', cfg, 'doctor', '--json']);
    expect(`${r.stdout}${r.stderr}`).toContain('cam-1');
    expect(`${r.stdout}${r.stderr}`).not.toContain(PW);
    expect(r.leaks).toEqual([]);
  });
});
