import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimCamera } from '../sim/camera/camera.js';
import { RecordingRepo } from '../store/recordings.js';
import { Recorder } from './recorder.js';
import { makeContext } from './testkit.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('recording a camera configured by its ONVIF address (simulated camera)', () => {
  let cam: SimCamera;
  beforeAll(async () => {
    cam = await new SimCamera({ username: 'admin', password: 'right', reportHost: '192.168.7.7' }).start();
  });
  afterAll(async () => {
    await cam.stop();
  });

  it('asks the camera for its stream URI (host rewritten) and records it; a wrong password is an "auth failed" gap', async () => {
    const ctx = makeContext({
      cameras: [
        { id: 'cam-ok', onvif: { host: '127.0.0.1', port: cam.httpPort, username: 'admin', password: 'right' } },
        { id: 'cam-badpw', onvif: { host: '127.0.0.1', port: cam.httpPort, username: 'admin', password: 'wrong' } },
      ],
      recorder: { schedule: 'always', segmentSeconds: 2 },
    });
    const repo = new RecordingRepo(ctx.store);
    const rec = new Recorder(ctx);
    await rec.start();
    const end = Date.now() + 20_000;
    while (Date.now() < end && repo.segments('cam-ok').length < 2) await sleep(200);
    await rec.stop();
    expect(repo.segments('cam-ok').length).toBeGreaterThanOrEqual(2);
    expect(cam.seen).toContain('GetStreamUri');
    const g = repo.gaps('cam-badpw');
    expect(g[0].reason).toBe('auth failed');
    expect(g[0].detail).toMatch(/wrong user name or password/);
    expect(repo.segments('cam-badpw')).toEqual([]);
    ctx.cleanup();
  }, 40_000);
});
