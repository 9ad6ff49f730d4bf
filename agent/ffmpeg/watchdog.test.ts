import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspServer } from '../sim/rtsp/server.js';
import { recordArgs } from './args.js';
import { spawnRecording, WATCHDOG_POLL_SECONDS } from './run.js';

const until = async (ok: () => boolean, ms: number) => {
  const t = Date.now();
  while (!ok() && Date.now() - t < ms) await new Promise((r) => setTimeout(r, 100));
};

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
      // 6 s, looked at every 2 s: the logic of the product's 10 min and 60 s, in seconds
      orphanMinutes: 0.1,
      pollSeconds: 2,
    });
    const t0 = Date.now();
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const after = (Date.now() - t0) / 1000;
    console.log(`ffmpeg stopped by its watchdog after ${after.toFixed(1)} s (poll every 2 s here, ${WATCHDOG_POLL_SECONDS} s in the product), exit ${exit.code ?? exit.signal}`);
    // SIGINT, not a kill: ffmpeg ends itself (255 = "received signal 2, exiting normally") and lists its segment
    expect(exit.signal).toBeNull();
    expect(fs.readFileSync(list, 'utf8')).toMatch(/^r_00000\.mp4,0\.0+,\d+\.\d+\n$/);
    // the watchdog's mark file goes with it
    await until(() => !fs.existsSync(path.join(dir, 'r.log.watchdog')), 30_000);
    expect(fs.existsSync(path.join(dir, 'r.log.watchdog'))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('keeps recording while the agent beats, and stops within orphanMinutes + one look once the beats stop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-wd-'));
    const hb = path.join(dir, 'hb');
    fs.writeFileSync(hb, '');
    const child = spawnRecording(
      recordArgs({ url: rtsp.url, transport: 'tcp', segmentSeconds: 60, outPattern: path.join(dir, 'r_%05d.mp4'), ioTimeoutSeconds: 10, segmentList: path.join(dir, 'r.csv') }),
      { errFile: path.join(dir, 'r.log'), heartbeatFile: hb, orphanMinutes: 0.1, pollSeconds: 2 },
    );
    let exitedAt = 0;
    const exited = new Promise<void>((resolve) =>
      child.on('exit', () => {
        exitedAt = Date.now();
        resolve();
      }),
    );
    // the agent's beat (every 30 s in the product, within each 60 s look)
    const beat = setInterval(() => {
      const now = new Date();
      fs.utimesSync(hb, now, now);
    }, 500);
    await new Promise((r) => setTimeout(r, 15_000));
    clearInterval(beat);
    const stoppedBeating = Date.now();
    expect(exitedAt).toBe(0);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
    if (!exitedAt) child.kill('SIGINT');
    await exited;
    // 6 s + one look of 2 s, plus however long a loaded machine takes to deliver it
    console.log(`beats stopped; ffmpeg stopped ${((exitedAt - stoppedBeating) / 1000).toFixed(1)} s later`);
    expect(exitedAt - stoppedBeating).toBeGreaterThanOrEqual(5_000);
    expect(exitedAt - stoppedBeating).toBeLessThan(60_000);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
