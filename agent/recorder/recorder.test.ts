import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspServer } from '../sim/rtsp/server.js';
import { RecordingRepo } from '../store/recordings.js';
import { probeFile } from '../ffmpeg/run.js';
import { reconcile } from '../retention/reconcile.js';
import { Recorder } from './recorder.js';
import { camerasNow } from './status.js';
import { recordingCheck } from '../doctor/recording.js';
import { renderCameras } from '../cli/commands/status.js';
import { AlarmRepo } from '../store/alarms.js';
import { makeContext } from './testkit.js';

describe('recorder against a real RTSP server', () => {
  let rtsp: RtspServer;
  beforeAll(async () => {
    rtsp = await new RtspServer({ keyint: 25 }).start();
  });
  afterAll(async () => {
    await rtsp.stop();
  });

  it('indexes each segment as it closes, contiguous, hashed; stop closes the last one and opens an agent-stopped gap', async () => {
    const ctx = makeContext({ cameras: [{ id: 'cam-1', rtspUrl: rtsp.url }], recorder: { schedule: 'always', segmentSeconds: 2 } });
    const events: string[] = [];
    ctx.bus.on(events, 'segment.indexed', (e) => events.push(`seg ${e.path}`));
    ctx.bus.on(events, 'recording.gap', (e) => events.push(`gap ${e.reason} ${e.end === null ? 'open' : 'closed'}`));
    const rec = new Recorder(ctx);
    await rec.start();
    await new Promise((r) => setTimeout(r, 7500));
    // while ffmpeg writes its open segment, list and messages, nothing on disk is "unknown to the store"
    const live = await reconcile(ctx.store, { videoDir: ctx.paths.video, now: Date.now(), retentionMs: 3 * 365 * 86_400_000 });
    expect(live.orphans).toEqual([]);
    expect(live.files).toBeGreaterThanOrEqual(3);
    // status and doctor see the recording from outside the recorder (its ffmpeg's files, the store)
    const now1 = camerasNow(ctx.store, ctx.cfg, ctx.paths.video, Date.now());
    expect(now1[0]).toMatchObject({ camera: 'cam-1', recording: true, openGap: null });
    expect(now1[0].bitrate).toBeGreaterThan(0);
    expect((await recordingCheck.run({ cfg: ctx.cfg, now: Date.now(), paths: ctx.paths })).status).toBe('ok');
    const stopAt = Date.now();
    await rec.stop();
    const repo = new RecordingRepo(ctx.store);
    const segs = repo.segments('cam-1');
    expect(segs.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < segs.length; i++) expect(Math.abs(segs[i].start_ms - segs[i - 1].end_ms)).toBeLessThanOrEqual(50);
    // the last segment was closed by SIGINT and reaches (almost) the moment of stop
    expect(stopAt - segs[segs.length - 1].end_ms).toBeLessThan(1500);
    for (const s of segs) {
      expect(fs.statSync(s.path).size).toBe(s.bytes);
      expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
      const p = await probeFile(s.path);
      expect(Math.abs(p.durationSec * 1000 - (s.end_ms - s.start_ms))).toBeLessThan(300);
    }
    const gaps = repo.gaps('cam-1');
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ reason: 'agent stopped', end_ms: null });
    expect(gaps[0].start_ms).toBe(segs[segs.length - 1].end_ms);
    expect(events.filter((e) => e.startsWith('seg')).length).toBe(segs.length);
    expect(repo.runs('cam-1')).toHaveLength(1);
    expect(repo.runs('cam-1')[0].end_reason).toBe('agent stopped');
    const now2 = camerasNow(ctx.store, ctx.cfg, ctx.paths.video, Date.now());
    expect(now2[0]).toMatchObject({ recording: false, openGap: { reason: 'agent stopped' } });
    const doc = await recordingCheck.run({ cfg: ctx.cfg, now: Date.now(), paths: ctx.paths });
    expect(doc.status).toBe('fail');
    expect(doc.detail).toContain('cam-1: NOT recording since');
    // a 20-character id and long values never run into the next column
    const line = renderCameras([{ ...now2[0], camera: 'cam-classroom-3-back' }], 'en', 'Asia/Shanghai', Date.now()).split('\n')[1];
    expect(line).toMatch(/cam-classroom-3-back {2,}NOT recording {2,}/);

    // a second life: the agent-stopped gap closes at the first new segment
    const rec2 = new Recorder(ctx);
    await rec2.start();
    await new Promise((r) => setTimeout(r, 3500));
    await rec2.stop();
    const g = repo.gaps('cam-1');
    expect(g[0].end_ms).not.toBeNull();
    // it closes exactly where the second life's first segment starts
    const run2 = repo.runs('cam-1')[1];
    expect(g[0].end_ms).toBe(repo.segmentsOfRun(run2.id)[0].start_ms);
    ctx.cleanup();
  }, 40_000);

  it('an unset environment secret is a config error gap, not "auth failed"', async () => {
    delete process.env.CA_TEST_SURELY_UNSET;
    const ctx = makeContext({ cameras: [{ id: 'cam-env', rtspUrl: rtsp.url, username: 'admin', password: { env: 'CA_TEST_SURELY_UNSET' } }], recorder: { schedule: 'always' } });
    const rec = new Recorder(ctx);
    await rec.start();
    const repo = new RecordingRepo(ctx.store);
    while (!repo.openGapOf('cam-env')) await new Promise((r) => setTimeout(r, 50));
    // the camera-offline alarm, whatever the time of day
    expect(new AlarmRepo(ctx.store).open().some((a) => a.kind === 'camera-offline' && a.subject === 'cam-env')).toBe(true);
    await rec.stop();
    const g = repo.gaps('cam-env')[0];
    expect(g.reason).toBe('config error');
    expect(g.detail).toContain('CA_TEST_SURELY_UNSET');
    ctx.cleanup();
  }, 30_000);
});
