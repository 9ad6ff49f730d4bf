import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { freePort } from '../sync/testkit.js';
import { SimCamera } from '../sim/camera/camera.js';
import { camerasCheck } from './cameras.js';

/**
 * The camera check against simulated ONVIF cameras (real SOAP, real GStreamer RTSP): a good
 * one, one whose password we got wrong, one with a slow clock and long GOP, and an address
 * where nothing answers — all in one concurrent pass, bounded in time.
 */
describe('doctor: cameras', () => {
  let good: SimCamera;
  let sloppy: SimCamera;
  beforeAll(async () => {
    good = await new SimCamera({ username: 'admin', password: 'Cam-2025!', rtsp: { fps: 25, keyint: 25 } }).start();
    // 30 s fast clock, a keyframe every 3 s
    sloppy = await new SimCamera({ username: 'admin', password: 'pw', clockOffsetMs: 30_000, rtsp: { fps: 25, keyint: 75 } }).start();
  }, 60_000);
  afterAll(async () => {
    await good?.stop();
    await sloppy?.stop();
  });

  it('reachable, authenticated, streaming, keyframe interval and clock skew, per camera, concurrently', async () => {
    const dead = await freePort();
    const cfg = configSchema.parse({
      cameras: [
        { id: 'good', onvif: { host: '127.0.0.1', port: good.httpPort, username: 'admin', password: 'Cam-2025!' } },
        { id: 'badpw', onvif: { host: '127.0.0.1', port: good.httpPort, username: 'admin', password: 'wrong' } },
        { id: 'sloppy', onvif: { host: '127.0.0.1', port: sloppy.httpPort, username: 'admin', password: 'pw' } },
        { id: 'gone', onvif: { host: '127.0.0.1', port: dead, username: 'admin', password: 'x' } },
        { id: 'off', rtspUrl: 'rtsp://127.0.0.1:1/none', enabled: false },
      ],
    });
    const t0 = Date.now();
    const r = await camerasCheck.run({ cfg, now: Date.now() });
    const took = Date.now() - t0;
    const part = (id: string) => r.detail.split(' | ').find((x) => x.startsWith(`${id} [`))!;
    expect(r.status).toBe('fail');
    expect(part('good')).toMatch(/^good \[ok\]: ONVIF ok \(SimCam SC-1080, ws-security\), clock skew [+-][01]\.\d s, streaming h264 640x360 .*keyframe interval 1 s/);
    expect(part('badpw')).toMatch(/^badpw \[fail\]: reachable, but wrong user name or password/);
    expect(part('sloppy')).toMatch(/^sloppy \[warn\]: .*clock skew \+(29|30|31)\.\d s.*streaming h264 640x360.*keyframe interval [34](\.\d+)? s/);
    expect(part('gone')).toMatch(/^gone \[fail\]: unreachable at 127\.0\.0\.1:\d+/);
    expect(r.detail).not.toContain('off [');
    expect(r.detail).not.toContain('Cam-2025!');
    // a concrete fix for each problem, in both languages
    expect(r.fix!.en).toContain("camera badpw: wrong user name or password: set the camera's ONVIF account in cameras[1].onvif.username / password");
    expect(r.fix!.zh).toContain('摄像机 badpw 用户名或密码错误');
    expect(r.fix!.en).toMatch(/camera sloppy clock off by \+\d+\.\d s: turn on NTP/);
    expect(r.fix!.en).toMatch(/camera sloppy keyframe interval [34](\.\d+)? s: set the I-frame interval/);
    expect(r.fix!.en).toContain('camera gone unreachable');
    // concurrent: about one probe's time, not four
    expect(took).toBeLessThan(20_000);
  }, 60_000);

  it('a camera given by rtspUrl alone is probed without ONVIF; no camera at all is a warning', async () => {
    const cfg = configSchema.parse({ cameras: [{ id: 'direct', rtspUrl: good.rtspUrl }] });
    const ok = await camerasCheck.run({ cfg, now: Date.now() });
    expect(ok.status).toBe('ok');
    expect(ok.detail).toMatch(/^direct \[ok\]: streaming h264 640x360/);
    const none = await camerasCheck.run({ cfg: configSchema.parse({}), now: Date.now() });
    expect(none.status).toBe('warn');
    expect(none.fix!.en).toContain('discover');
  }, 60_000);

  it('a camera that stalls (SOAP and RTSP accept, then say nothing) fails within its time budget', async () => {
    const cfg = configSchema.parse({
      cameras: [
        { id: 'frozen', onvif: { host: '127.0.0.1', port: sloppy.httpPort, username: 'admin', password: 'pw' } },
        { id: 'frozen-rtsp', rtspUrl: sloppy.rtspUrl },
      ],
    });
    sloppy.stall();
    try {
      const t0 = Date.now();
      const r = await camerasCheck.run({ cfg, now: Date.now() });
      const took = Date.now() - t0;
      expect(r.status).toBe('fail');
      expect(r.detail).toMatch(/frozen \[fail\]: unreachable at 127\.0\.0\.1/);
      expect(r.detail).toMatch(/frozen-rtsp \[fail\]: stream rtsp:\/\/127\.0\.0\.1:\d+\/cam not streaming/);
      expect(r.fix!.en).toContain('recheck with classroom-agent probe frozen-rtsp');
      expect(took).toBeLessThan(20_000);
    } finally {
      sloppy.resume();
    }
  }, 60_000);
});
