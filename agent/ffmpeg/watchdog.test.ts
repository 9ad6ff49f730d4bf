import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspServer } from '../sim/rtsp/server.js';
import { recordArgs } from './args.js';
import { spawnRecording, WATCHDOG_POLL_SECONDS } from './run.js';

describe('a recording ffmpeg whose agent is gone for good', () => {
  let rtsp: RtspServer;
  beforeAll(async () => {
    rtsp = await new RtspServer({ keyint: 25 }).start();
  });
  afterAll(async () => {
    await rtsp.stop();
  });

  it('stops itself cleanly (one SIGINT: last segment closed and listed) once the heartbeat is older than orphanMinutes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-wd-'));
    const hb = path.join(dir, 'hb');
    fs.writeFileSync(hb, '');
    // the agent's last beat was two hours ago
    const old = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(hb, old, old);
    const list = path.join(dir, 'r.csv');
    const child = spawnRecording(recordArgs({ url: rtsp.url, transport: 'tcp', segmentSeconds: 60, outPattern: path.join(dir, 'r_%05d.mp4'), ioTimeoutSeconds: 10, segmentList: list }), {
      errFile: path.join(dir, 'r.log'),
      heartbeatFile: hb,
      orphanMinutes: 1,
    });
    const t0 = Date.now();
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const after = (Date.now() - t0) / 1000;
    console.log(`ffmpeg stopped by its watchdog after ${after.toFixed(1)} s (poll every ${WATCHDOG_POLL_SECONDS} s), exit ${exit.code ?? exit.signal}`);
    // SIGINT, not a kill: ffmpeg ends itself (255 = "received signal 2, exiting normally") and lists its segment
    expect(exit.signal).toBeNull();
    expect(fs.readFileSync(list, 'utf8')).toMatch(/^r_00000\.mp4,0\.0+,\d+\.\d+\n$/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('keeps recording while the heartbeat is fresh', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-wd-'));
    const hb = path.join(dir, 'hb');
    fs.writeFileSync(hb, '');
    const child = spawnRecording(
      recordArgs({ url: rtsp.url, transport: 'tcp', segmentSeconds: 60, outPattern: path.join(dir, 'r_%05d.mp4'), ioTimeoutSeconds: 10, segmentList: path.join(dir, 'r.csv') }),
      {
        errFile: path.join(dir, 'r.log'),
        heartbeatFile: hb,
        orphanMinutes: 1,
      },
    );
    let exited = false;
    child.on('exit', () => (exited = true));
    await new Promise((r) => setTimeout(r, (WATCHDOG_POLL_SECONDS + 5) * 1000));
    expect(exited).toBe(false);
    child.kill('SIGINT');
    await new Promise((r) => child.on('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
