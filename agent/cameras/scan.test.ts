import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { SimCamera } from '../sim/camera/camera.js';
import { subStreamUrl } from './stream.js';

const run = promisify(execFile);
const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const PW = 'Sc4n-pw!x';

/**
 * discover with credentials given at scan time, the config snippet it prints, and probe of the
 * main and the sub stream, against simulated cameras shaped like Hikvision's (two profiles, the
 * sub stream at /Streaming/Channels/102, an ONVIF user) and one with a single profile.
 */
describe('discover --user/--password, the config snippet, probe --stream', () => {
  let twoStreams: SimCamera;
  let oneStream: SimCamera;
  let tmp: string;
  let base: Record<string, unknown>;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code?: number; stdout: string; stderr: string }> =>
    run(process.execPath, [CLI, ...args], { env: { ...process.env, CLASSROOM_AGENT_CAMERA_PASSWORD: '', ...env } }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  beforeAll(async () => {
    twoStreams = await new SimCamera({ username: 'admin', password: PW, device: { manufacturer: 'HIKVISION', model: 'DS-2CD2T47G2' }, sub: {} }).start();
    oneStream = await new SimCamera({ username: 'admin', password: PW, auth: 'digest' }).start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-scan-'));
    base = { paths: { state: tmp }, discovery: { multicast: false, ranges: ['127.0.0.1'], ports: [twoStreams.httpPort, oneStream.httpPort], timeoutMs: 1500 } };
  }, 120_000);
  afterAll(async () => {
    await twoStreams.stop();
    await oneStream.stop();
  });

  it('with no credentials anywhere, says they are needed and how to give them, never that the password is wrong (zh/en)', async () => {
    const cfg = path.join(tmp, 'none.yaml');
    fs.writeFileSync(cfg, YAML.stringify(base));
    const en = await cli(['-c', cfg, '--lang', 'en', 'discover']);
    expect(en.stdout).toContain('Found 2 camera(s)');
    expect(en.stdout.match(/needs a user name and password, and none was given/g)).toHaveLength(2);
    expect(en.stdout).toContain('--password-file');
    expect(en.stdout).toContain('CLASSROOM_AGENT_CAMERA_PASSWORD');
    expect(en.stdout).not.toMatch(/wrong/i);
    // nothing to paste: neither camera gave a stream URI
    expect(en.stdout).not.toContain('cameras:');
    const zh = await cli(['-c', cfg, '--lang', 'zh', 'discover']);
    expect(zh.stdout).toContain('摄像机需要用户名和密码，尚未提供');
    expect(zh.stdout).not.toContain('错误');
    const j = JSON.parse((await cli(['-c', cfg, 'discover', '--json'])).stdout);
    expect(j.map((c: { error: { kind: string; missing: boolean } }) => c.error)).toMatchObject([
      { kind: 'auth', missing: true },
      { kind: 'auth', missing: true },
    ]);
  }, 120_000);

  it('a wrong password given at scan time is called wrong', async () => {
    const cfg = path.join(tmp, 'none.yaml');
    const r = await cli(['-c', cfg, '--lang', 'en', 'discover', '--user', 'admin', '--password', 'nope']);
    expect(r.stdout.match(/Wrong user name or password/g)).toHaveLength(2);
    expect(r.stdout).not.toContain('nope');
  }, 120_000);

  it('--password-file at scan time: every profile read, a snippet that passes config check, probe of main and sub', async () => {
    const pwFile = path.join(tmp, 'camera.pw');
    fs.writeFileSync(pwFile, `${PW}\n`, { mode: 0o600 });
    // one camera is configured already: it is named, not pasted twice
    const cfg = path.join(tmp, 'scan.yaml');
    fs.writeFileSync(cfg, YAML.stringify({ ...base, cameras: [{ id: 'door', onvif: { host: '127.0.0.1', port: oneStream.httpPort } }] }));
    const r = await cli(['-c', cfg, '--lang', 'en', 'discover', '--user', 'admin', '--password-file', pwFile]);
    expect(r.code ?? 0).toBe(0);
    expect(r.stdout).not.toContain(PW);
    expect(r.stdout).toContain('profile main: H264 640x360');
    expect(r.stdout).toContain('profile sub: H264 320x180');
    expect(r.stdout).toContain(`127.0.0.1:${oneStream.httpPort}: 配置中已有 / already in the config as door`);
    const snippet = r.stdout.slice(r.stdout.indexOf('# paste into the config'));
    const doc = YAML.parse(snippet) as { cameras: Array<Record<string, unknown>> };
    expect(doc.cameras).toHaveLength(1);
    const entry = doc.cameras[0];
    expect(entry).toMatchObject({
      id: `cam-127-0-0-1-p${twoStreams.httpPort}`,
      onvif: { host: '127.0.0.1', port: twoStreams.httpPort },
      rtspUrl: twoStreams.rtspUrl,
      username: 'admin',
      password: { file: pwFile },
    });
    expect(snippet).toContain(`sub stream: ${twoStreams.subRtspUrl!.replace(/^rtsp:\/\/[^/]+/, `rtsp://127.0.0.1:${new URL(twoStreams.subRtspUrl!).port}`)}`);

    // pasted under the existing cameras, the file passes config check
    const pasted = path.join(tmp, 'pasted.yaml');
    const full = YAML.parse(fs.readFileSync(cfg, 'utf8'));
    full.cameras.push(...doc.cameras);
    fs.writeFileSync(pasted, YAML.stringify(full));
    const check = await cli(['-c', pasted, '--lang', 'en', 'config', 'check']);
    expect(check.stderr).toBe('');
    expect(check.stdout).toContain('2 camera(s)');

    // probe the pasted camera's streams: main from its rtspUrl, sub from its second ONVIF profile
    const main = JSON.parse((await cli(['-c', pasted, 'probe', String(entry.id), '--seconds', '3', '--json'])).stdout);
    expect(main).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(main.url).not.toContain(PW);
    const sub = await cli(['-c', pasted, 'probe', String(entry.id), '--stream', 'sub', '--seconds', '3', '--json']);
    expect(JSON.parse(sub.stdout)).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(JSON.parse(sub.stdout).url).toContain('/Streaming/Channels/102');
    // door has no credentials in the config: probe says they are needed, not that they are wrong
    const noCreds = await cli(['-c', pasted, '--lang', 'en', 'probe', 'door']);
    expect(noCreds.code).toBe(1);
    expect(noCreds.stderr).toContain('the camera needs a user name and password and the config has none');
    // a wrong ONVIF password: called wrong, with the fix, exit 1, the password never shown
    full.cameras[0].onvif = { ...full.cameras[0].onvif, username: 'admin', password: 'Wr0ng-pw' };
    fs.writeFileSync(pasted, YAML.stringify(full));
    const wrong = await cli(['-c', pasted, '--lang', 'en', 'probe', 'door']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('the camera refused the user name or password');
    expect(wrong.stderr + wrong.stdout).not.toContain('Wr0ng-pw');
    full.cameras[0].onvif = { ...full.cameras[0].onvif, username: 'admin', password: { file: pwFile } };
    fs.writeFileSync(pasted, YAML.stringify(full));
    // the single-profile camera has no sub stream: said so, exit 1 (a camera problem), no raw error
    const none = await cli(['-c', pasted, '--lang', 'en', 'probe', 'door', '--stream', 'sub']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no second one for the sub stream');
    const badChoice = await cli(['-c', pasted, 'probe', 'door', '--stream', 'third']);
    expect(badChoice.code).toBe(2);
  }, 300_000);

  it('the password from the environment: the snippet points at a secret file, never the password', async () => {
    const cfg = path.join(tmp, 'none.yaml');
    const r = await cli(['-c', cfg, 'discover', '--yaml', '--user', 'admin'], { CLASSROOM_AGENT_CAMERA_PASSWORD: PW });
    expect(r.stdout).not.toContain(PW);
    const doc = YAML.parse(r.stdout) as { cameras: Array<Record<string, unknown>> };
    expect(doc.cameras.map((c) => c.password)).toEqual([{ file: '/etc/classroom-agent/secrets/cameras' }, { file: '/etc/classroom-agent/secrets/cameras' }]);
  }, 120_000);

  it('sub stream URLs by the vendors conventions', () => {
    expect(subStreamUrl('rtsp://10.0.0.5:554/Streaming/Channels/101')).toBe('rtsp://10.0.0.5:554/Streaming/Channels/102');
    expect(subStreamUrl('rtsp://10.0.0.5/Streaming/Channels/1201?transportmode=unicast')).toBe('rtsp://10.0.0.5/Streaming/Channels/1202?transportmode=unicast');
    expect(subStreamUrl('rtsp://10.0.0.5/h264/ch1/main/av_stream')).toBe('rtsp://10.0.0.5/h264/ch1/sub/av_stream');
    expect(subStreamUrl('rtsp://10.0.0.6:554/cam/realmonitor?channel=1&subtype=0')).toBe('rtsp://10.0.0.6:554/cam/realmonitor?channel=1&subtype=1');
    expect(subStreamUrl('rtsp://10.0.0.7/live')).toBeUndefined();
  });
});
