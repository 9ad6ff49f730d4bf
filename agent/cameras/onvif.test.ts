import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimCamera } from '../sim/camera/camera.js';
import { describeCamera } from './onvif.js';

describe('ONVIF client against the simulated camera (real SOAP over HTTP)', () => {
  let wsse: SimCamera;
  let digest: SimCamera;
  beforeAll(async () => {
    wsse = await new SimCamera({ username: 'admin', password: 'Cam-2025!', clockOffsetMs: 30_000, reportHost: '192.168.1.64' }).start();
    digest = await new SimCamera({ username: 'admin', password: 'hik12345', auth: 'digest' }).start();
  });
  afterAll(async () => {
    await wsse.stop();
    await digest.stop();
  });

  it('describes a WS-Security camera: identity, profile, stream URI rewritten to the host we dialled, clock skew', async () => {
    const d = await describeCamera({ host: '127.0.0.1', port: wsse.httpPort, username: 'admin', password: 'Cam-2025!' });
    expect(d.error).toBeUndefined();
    expect(d).toMatchObject({ manufacturer: 'SimCam', model: 'SC-1080', serial: wsse.serial, auth: 'ws-security' });
    expect(d.profiles).toHaveLength(1);
    expect(d.profiles[0]).toMatchObject({ token: 'main', encoding: 'H264', width: 640, height: 360, fps: 25, gop: 25 });
    // the camera said 192.168.1.64; we reached it at 127.0.0.1
    expect(d.profiles[0].streamUri).toBe(wsse.rtspUrl);
    expect(d.profiles[0].snapshotUri).toBe(`http://127.0.0.1:${wsse.httpPort}/onvif/snapshot.jpg`);
    expect(Math.abs(d.clockSkewMs! - 30_000)).toBeLessThanOrEqual(1000);
  });

  it('says a wrong password is a wrong password', async () => {
    const d = await describeCamera({ host: '127.0.0.1', port: wsse.httpPort, username: 'admin', password: 'nope' });
    expect(d.error?.kind).toBe('auth');
    expect(d.profiles).toEqual([]);
  });

  it('falls back to HTTP Digest for a digest-only camera', async () => {
    const d = await describeCamera({ host: '127.0.0.1', port: digest.httpPort, username: 'admin', password: 'hik12345' });
    expect(d.error).toBeUndefined();
    expect(d.profiles[0].streamUri).toBe(digest.rtspUrl);
    const bad = await describeCamera({ host: '127.0.0.1', port: digest.httpPort, username: 'admin', password: 'wrong' });
    expect(bad.error?.kind).toBe('auth');
  });

  it('reports an unreachable camera', async () => {
    const d = await describeCamera({ host: '127.0.0.1', port: 1, timeoutMs: 1000 });
    expect(d.error?.kind).toBe('unreachable');
  });
});
