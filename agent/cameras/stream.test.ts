import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cameraSchema } from '../config/schema.js';
import { SimCamera } from '../sim/camera/camera.js';
import { CameraError } from './errors.js';
import { streamUrlOf } from './stream.js';

const cam = (o: Record<string, unknown>) => cameraSchema.parse({ id: 'cam-1', ...o });

describe('the one URL composer: main or sub stream', () => {
  it('records the main stream by default, the sub stream when asked, credentials put in either', async () => {
    const c = cam({ rtspUrl: 'rtsp://192.0.2.5:554/Streaming/Channels/101', subRtspUrl: 'rtsp://192.0.2.5:554/Streaming/Channels/102', username: 'admin', password: 'p@ss word' });
    expect(c.stream).toBe('main');
    expect(await streamUrlOf(c, 'cameras[0]')).toBe('rtsp://admin:p%40ss%20word@192.0.2.5:554/Streaming/Channels/101');
    expect(await streamUrlOf(c, 'cameras[0]', 'sub')).toBe('rtsp://admin:p%40ss%20word@192.0.2.5:554/Streaming/Channels/102');
    expect(await streamUrlOf({ ...c, stream: 'sub' }, 'cameras[0]')).toBe('rtsp://admin:p%40ss%20word@192.0.2.5:554/Streaming/Channels/102');
  });

  it('refuses a sub stream nobody named, in the config and when asked', async () => {
    expect(cameraSchema.safeParse({ id: 'c', rtspUrl: 'rtsp://192.0.2.5/s', stream: 'sub' }).success).toBe(false);
    await expect(streamUrlOf(cam({ rtspUrl: 'rtsp://192.0.2.5/s' }), 'cameras[0]', 'sub')).rejects.toThrow(/follows no known convention.*set cameras\[0\]\.subRtspUrl/);
  });

  describe('ONVIF', () => {
    let sim: SimCamera;
    beforeAll(async () => {
      sim = await new SimCamera({ username: 'admin', password: 'pw' }).start();
    });
    afterAll(async () => {
      await sim.stop();
    });
    it("main is the first profile's stream; a camera with one profile has no sub stream, said with the fix", async () => {
      const c = cam({ onvif: { host: '127.0.0.1', port: sim.httpPort, username: 'admin', password: 'pw' } });
      expect(await streamUrlOf(c, 'cameras[0]')).toMatch(/^rtsp:\/\//);
      const err = await streamUrlOf(c, 'cameras[0]', 'sub').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CameraError);
      expect((err as Error).message).toContain('no second one for the sub stream; set stream: main');
    });
  });
});
