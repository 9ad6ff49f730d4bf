import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { RtspServer } from '../sim/rtsp/server.js';
import { crashDrill } from './crashkit.js';

describe('kill -9 of the recording agent', () => {
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

  it('every segment on disk is indexed after restart and at most 2 s of video is lost per crash', async () => {
    const r = await crashDrill({ rtspUrl: rtsp.url, kills: 3, runMs: 3300, segmentSeconds: 2, withFfmpeg: (i) => i === 2 });
    for (const k of r.kills) console.log(`kill${k.withFfmpeg ? ' +ffmpeg' : ''}: lost ${k.lossMs} ms before the kill, recording again ${k.resumeMs} ms after it`);
    expect(r.unindexed).toEqual([]);
    expect(r.filesIndexed).toBe(r.filesOnDisk);
    expect(r.kills).toHaveLength(3);
    for (const k of r.kills) {
      expect(k.lossMs).toBeLessThanOrEqual(2000);
      expect(Number.isFinite(k.resumeMs)).toBe(true);
    }
  }, 90_000);
});
