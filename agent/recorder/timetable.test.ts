import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassPlan } from '../classes/classfile.js';
import { RtspServer } from '../sim/rtsp/server.js';
import { AlarmRepo } from '../store/alarms.js';
import { ClassRepo } from '../store/classes.js';
import { RecordingRepo } from '../store/recordings.js';
import { Store } from '../store/store.js';
import { Recorder } from './recorder.js';
import { makeContext } from './testkit.js';

/** Wait for a condition (never for a speed): generous bound, a diagnostic on failure. */
async function until(what: string, ok: () => boolean, boundMs = 60_000, info: () => unknown = () => ''): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > boundMs) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(info())}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const plan = (lessons: Array<{ id: string; start: number; end: number; cameras: string[] }>): ClassPlan => ({
  id: 'class-t',
  timezone: 'Asia/Shanghai',
  trainees: [],
  teachers: [],
  lessons: lessons.map((l) => ({ ...l, kind: 'practical', makeUp: false })),
});

describe('recording follows the timetable (real RTSP simulator, real ffmpeg, windows of seconds)', () => {
  let rtsp: RtspServer;
  beforeAll(async () => {
    rtsp = await new RtspServer({ keyint: 25 }).start();
  });
  afterAll(async () => {
    await rtsp.stop();
  });

  it('records from window start to window end, no gap outside windows, a gap inside one when the camera is off; picks up a lesson imported while running', async () => {
    // margins of 0 min: the windows are the lessons themselves (the margins' arithmetic is schedule.test's)
    const ctx = makeContext({
      cameras: [
        { id: 'cam-on', rtspUrl: rtsp.url },
        { id: 'cam-off', rtspUrl: 'rtsp://127.0.0.1:1/switched-off' },
      ],
      recorder: { segmentSeconds: 2, marginBeforeMinutes: 0, marginAfterMinutes: 0, reconnectPollMs: 300, stopTimeoutMs: 8000 },
    });
    const repo = new RecordingRepo(ctx.store);
    const alarms = new AlarmRepo(ctx.store);
    // the school imports its class through the CLI: another connection to the same file
    const cli = new Store({ file: ctx.paths.database });
    const t0 = Date.now();
    // lesson 1 is already on when the agent starts; it names no camera: both record it
    const l1 = { id: 'L1', start: t0 - 2000, end: t0 + 9000, cameras: [] as string[] };
    new ClassRepo(cli).save(plan([l1]), ctx.cfg.profile);
    const rec = new Recorder(ctx, { replanMs: 60_000 });
    const info = () => ({ on: repo.segments('cam-on').length, runs: repo.runs('cam-on'), gaps: [...repo.gaps('cam-on'), ...repo.gaps('cam-off')] });
    try {
      await rec.start();
      const started = Date.now();
      // in progress at start: recorded at once
      await until('cam-on recording lesson 1', () => repo.segments('cam-on').length >= 1, 60_000, info);
      expect(repo.segments('cam-on')[0].start_ms).toBeGreaterThanOrEqual(started - 500);
      // the switched-off camera: a gap inside the window, with the camera-offline alarm
      await until('cam-off gap', () => repo.gaps('cam-off').length === 1, 60_000, info);
      expect(repo.gaps('cam-off')[0]).toMatchObject({ reason: 'camera unreachable', end_ms: null });
      expect(repo.gaps('cam-off')[0].start_ms).toBeGreaterThanOrEqual(l1.start);
      expect(alarms.open().map((a) => a.subject)).toContain('cam-off');

      // the window ends: a clean stop (run ends 'not scheduled'), no gap opened for it
      await until('lesson 1 window closed', () => repo.runs('cam-on').every((r) => r.ended_ms !== null) && repo.gaps('cam-off')[0]?.end_ms !== null, 60_000, info);
      const segs1 = repo.segments('cam-on');
      expect(repo.runs('cam-on').map((r) => r.end_reason)).toEqual(['not scheduled']);
      // recorded up to the window's end (the last segment closed by SIGINT at or after it)
      expect(segs1[segs1.length - 1].end_ms).toBeGreaterThanOrEqual(l1.end - 1000);
      expect(repo.gaps('cam-on')).toEqual([]);
      // the switched-off camera's gap ends where recording stopped being expected, the alarm clears
      expect(repo.gaps('cam-off')[0].end_ms).toBe(l1.end);
      expect(alarms.open().map((a) => a.subject)).not.toContain('cam-off');

      // outside any window: nothing recorded, no gap, no alarm
      const between = Date.now();
      await sleep(4000);
      expect(repo.segments('cam-on').length).toBe(segs1.length);
      expect(repo.segments('cam-on').filter((s) => s.start_ms >= between)).toEqual([]);
      expect(repo.gaps('cam-off')).toHaveLength(1);
      expect(alarms.open()).toEqual([]);

      // a lesson imported while the agent runs, for cam-on only, starting in 4 s
      const t1 = Date.now();
      const l2 = { id: 'L2', start: t1 + 4000, end: t1 + 12_000, cameras: ['cam-on'] };
      new ClassRepo(cli).save(plan([l1, l2]), ctx.cfg.profile);
      await until('cam-on recording lesson 2', () => repo.segments('cam-on').length > segs1.length, 60_000, info);
      const segs2 = repo.segments('cam-on').slice(segs1.length);
      expect(segs2[0].start_ms).toBeGreaterThanOrEqual(l2.start - 500);
      await until('lesson 2 window closed', () => repo.runs('cam-on').length === 2 && repo.runs('cam-on').every((r) => r.ended_ms !== null), 60_000, info);
      expect(repo.runs('cam-on').map((r) => r.end_reason)).toEqual(['not scheduled', 'not scheduled']);
      const all = repo.segments('cam-on');
      expect(all[all.length - 1].end_ms).toBeGreaterThanOrEqual(l2.end - 1000);
      // not named by lesson 2: cam-off was not expected, so no new gap
      expect(repo.gaps('cam-off')).toHaveLength(1);
      expect(repo.gaps('cam-on')).toEqual([]);
    } finally {
      await rec.stop();
      cli.close();
      ctx.cleanup();
    }
    // stopping the agent outside every window opens no 'agent stopped' gap
    const after = new Store({ file: ctx.paths.database, readonly: true });
    try {
      expect(new RecordingRepo(after).gaps('cam-on')).toEqual([]);
    } finally {
      after.close();
    }
  }, 240_000);
});
