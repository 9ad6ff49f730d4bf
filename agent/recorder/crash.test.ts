import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { RtspServer } from '../sim/rtsp/server.js';
import { RecordingRepo } from '../store/recordings.js';
import { crashDrill } from './crashkit.js';
import { Recorder } from './recorder.js';
import { makeContext } from './testkit.js';

describe('kill -9 of the recording agent and of its ffmpeg', () => {
  let rtsp: RtspServer;
  beforeAll(async () => {
    // the drill runs the compiled recorder (npm test builds first); build if it is missing
    if (!fs.existsSync(path.join(PACKAGE_ROOT, 'dist', 'agent', 'recorder', 'main.js'))) {
      execFileSync(process.execPath, [path.join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(PACKAGE_ROOT, 'tsconfig.json')]);
    }
    rtsp = await new RtspServer({ keyint: 25 }).start();
  });
  afterAll(async () => {
    await rtsp.stop();
  });

  // The must-show drill: 20 kills. Each cycle is one node start and waits on conditions only (the
  // restarted agent reports the adopted ffmpeg recording at once, not at its first tick): the 20
  // took 106-119 s beside the recorder bench at load 14-15 (2026-11-30). CRASH_KILLS=N runs N.
  const KILLS = Number(process.env.CRASH_KILLS ?? 20);
  it(
    `the agent killed ${KILLS} times, at random moments and half of them aimed at the first second of a segment: no second lost, no gap, every file indexed and playable`,
    async () => {
      // random moments, reproducible: the seed is printed, CRASH_SEED replays a run
      const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
      let x = seed || 1;
      const rand = () => {
        // xorshift32: enough for kill moments
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) / 2 ** 32;
      };
      const moments = Array.from({ length: KILLS }, () => 100 + Math.round(rand() * 1000));
      console.log(`crash drill seed ${seed}: kill moments ${moments.join(', ')} ms after recording resumed`);
      const r = await crashDrill({ rtspUrl: rtsp.url, kills: KILLS, runMs: (i) => moments[i] ?? 500, segmentSeconds: 2, withFfmpeg: () => false, early: (i) => i % 2 === 0, awayMs: 300 });
      for (const k of r.kills)
        console.log(`kill${k.early ? ' (aimed at the first second of a segment)' : ''}: ${k.intoSegmentMs} ms into its segment; last second on video ${k.lossMs} ms before the kill`);
      // an aimed kill lands later than the first second when the agent indexes slowly under load: counted, not asserted
      console.log(`kills in a segment's first second: ${r.kills.filter((k) => k.intoSegmentMs < 1000).length} of ${r.kills.length}`);
      expect(r.kills).toHaveLength(KILLS);
      expect(r.unindexed).toEqual([]);
      expect(r.filesIndexed).toBe(r.filesOnDisk);
      expect(r.uncoveredMs).toBe(0);
      for (const k of r.kills) expect(k.lossMs).toBe(0);
      // the only gap is the one the last, clean stop opened
      expect(r.gaps.map((g) => g.reason)).toEqual(['agent stopped']);
      expect(r.segments.length).toBeGreaterThan(KILLS / 2);
      expect(r.segments.filter((s) => !s.playable)).toEqual([]);
    },
    KILLS * 60_000,
  );

  it('ffmpeg killed with -9 while the agent runs: at most a fragment lost, the gap recorded with its reason', async () => {
    const ctx = makeContext({ cameras: [{ id: 'cam-f', rtspUrl: rtsp.url }], recorder: { schedule: 'always', segmentSeconds: 2, backoffInitialMs: 200 } });
    const repo = new RecordingRepo(ctx.store);
    const rec = new Recorder(ctx);
    await rec.start();
    while (!repo.segments('cam-f').length) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1300));
    const pid = rec.stats()[0].ffmpegPid!;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    while (!repo.gaps('cam-f').some((g) => g.end_ms !== null)) await new Promise((r) => setTimeout(r, 100));
    await rec.stop();
    const gap = repo.gaps('cam-f')[0];
    expect(gap.reason).toBe('ffmpeg exited');
    expect(gap.detail).toContain('SIGKILL');
    const lost = killedAt - gap.start_ms;
    console.log(`ffmpeg kill -9: last second on video ${lost} ms before the kill; gap: ${gap.reason}: ${gap.detail}`);
    expect(lost).toBeLessThanOrEqual(1500);
    const segs = repo.segments('cam-f');
    for (const s of segs) expect(s.end_ms).toBeGreaterThan(s.start_ms);
    ctx.cleanup();
  }, 120_000);
});
