import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { SimCamera } from '../sim/camera/camera.js';
import { discover } from './discover.js';
import { expandRanges } from './ranges.js';
import { analysePackets } from './probe.js';

const run = promisify(execFile);
const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');

describe('discover and probe against the simulated camera', () => {
  let cam: SimCamera;
  let tmp: string;
  beforeAll(async () => {
    // a 3 s GOP and a clock 5 s fast: both must be warned about
    cam = await new SimCamera({ username: 'admin', password: 'pw-1', clockOffsetMs: 5000, reportHost: '10.9.8.7', rtsp: { keyint: 75 }, discovery: { address: '127.0.0.1', port: 0 } }).start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-disc-'));
  });
  afterAll(async () => {
    await cam.stop();
  });

  it('finds the camera by the unicast probe of a range, and by a WS-Discovery probe', async () => {
    const cfg = configSchema.parse({ discovery: { multicast: false, ranges: ['127.0.0.1'], ports: [cam.httpPort, 1], timeoutMs: 1500, username: 'admin', password: 'pw-1' } });
    const found = await discover(cfg, { wsdUnicast: [{ host: '127.0.0.1', port: cam.discoveryPort }] });
    expect(found).toHaveLength(1);
    const c = found[0];
    expect(c.via.sort()).toEqual(['unicast']);
    expect(c.urn).toBe(cam.urn);
    expect(c).toMatchObject({ host: '127.0.0.1', port: cam.httpPort, manufacturer: 'SimCam', serial: cam.serial });
    expect(c.profiles[0].streamUri).toBe(cam.rtspUrl);
    expect(Math.abs(c.clockSkewMs! - 5000)).toBeLessThanOrEqual(1000);
  });

  it('CLI discover --json and the bilingual text; probe warns about the 3 s keyframe interval and the 5 s clock skew', async () => {
    const cfgFile = path.join(tmp, 'agent.yaml');
    fs.writeFileSync(
      cfgFile,
      YAML.stringify({
        paths: { state: tmp },
        discovery: { multicast: false, ranges: ['127.0.0.1'], ports: [cam.httpPort], timeoutMs: 1500, username: 'admin', password: 'pw-1' },
        cameras: [{ id: 'cam-a', onvif: { host: '127.0.0.1', port: cam.httpPort, username: 'admin', password: 'pw-1' } }],
      }),
    );
    const j = await run(process.execPath, [CLI, '-c', cfgFile, 'discover', '--json']);
    const list = JSON.parse(j.stdout);
    expect(list[0].serial).toBe(cam.serial);
    const zh = await run(process.execPath, [CLI, '-c', cfgFile, '--lang', 'zh', 'discover']);
    expect(zh.stdout).toContain('找到 1 台摄像机');
    expect(zh.stdout).toContain('时钟偏差');

    const p = await run(process.execPath, [CLI, '-c', cfgFile, '--lang', 'en', 'probe', 'cam-a', '--seconds', '7', '--json']);
    const probe = JSON.parse(p.stdout);
    expect(probe).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(probe.keyframeIntervalSec).toBeGreaterThan(2.5);
    expect(probe.keyframeIntervalSec).toBeLessThan(3.5);
    expect(Math.abs(probe.clockSkewMs - 5000)).toBeLessThanOrEqual(1000);
    expect(probe.warnings).toHaveLength(2);
    const zhp = await run(process.execPath, [CLI, '-c', cfgFile, '--lang', 'zh', 'probe', cam.rtspUrl, '--seconds', '4']);
    expect(zhp.stdout).toContain('关键帧间隔');
  }, 180_000);

  it('wrong password is said in plain words; bad input names what is wrong', async () => {
    const cfgFile = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(
      cfgFile,
      YAML.stringify({ paths: { state: tmp }, discovery: { multicast: false, ranges: ['127.0.0.1'], ports: [cam.httpPort], timeoutMs: 1500, username: 'admin', password: 'wrong' } }),
    );
    const r = await run(process.execPath, [CLI, '-c', cfgFile, '--lang', 'en', 'discover']);
    expect(r.stdout).toContain('Wrong user name or password');
    const bad = await run(process.execPath, [CLI, '-c', cfgFile, 'discover', '--range', '300.1.1.1']).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('discovery.ranges[0]');
    const nocam = await run(process.execPath, [CLI, '-c', cfgFile, 'probe', 'cam-x']).catch((e) => e);
    expect(nocam.code).toBe(2);
  }, 120_000);

  it('expands ranges and measures keyframe intervals from packets', () => {
    expect(expandRanges(['192.168.1.1-3', '10.0.0.0/30', '10.1.1.1'])).toEqual(['192.168.1.1', '192.168.1.2', '192.168.1.3', '10.0.0.1', '10.0.0.2', '10.1.1.1']);
    expect(() => expandRanges(['10.0.0.0/8'])).toThrow(/narrow/);
    const packets = Array.from({ length: 101 }, (_, i) => ({ pts_time: i === 0 ? undefined : (i * 0.04).toFixed(2), size: '1000', flags: i % 50 === 0 ? 'K_' : '__' }));
    const a = analysePackets(packets);
    expect(a.keyframeIntervalSec).toBe(2);
    expect(a.fps).toBe(25);
    expect(a.bitrateKbps).toBe(202);
  });
});
