import fs from 'node:fs';
import path from 'node:path';
import { sha256File } from '../core/hash.js';
import type { AgentContext } from '../core/context.js';
import { runFfmpegToBuffer } from '../ffmpeg/run.js';
import { RecordingRepo } from '../store/recordings.js';

/**
 * Minutes of a box's recordings made at once, for tests of playback: a test pattern cut by
 * ffmpeg into MP4 segments and indexed through the store's own functions (run + segment, the
 * outbox `segment` records included), ending `endsAgoMs` before now. Recording them with the
 * recorder would take as long as they last.
 */
export async function seedSegments(ctx: AgentContext, camera: string, o: { count: number; seconds: number; endsAgoMs?: number }): Promise<{ first: number; end: number; files: string[] }> {
  const dir = path.join(ctx.paths.video, camera);
  fs.mkdirSync(dir, { recursive: true });
  await runFfmpegToBuffer(
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=10',
      '-t',
      String(o.seconds * o.count),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '10',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'segment',
      '-segment_time',
      String(o.seconds),
      '-reset_timestamps',
      '1',
      path.join(dir, 'seed-%03d.mp4'),
    ],
    { timeoutMs: 120_000 },
  );
  const repo = new RecordingRepo(ctx.store);
  const end = Date.now() - (o.endsAgoMs ?? 5000);
  const first = end - o.count * o.seconds * 1000;
  const runId = repo.startRun(camera, first);
  const files: string[] = [];
  for (let i = 0; i < o.count; i++) {
    const file = path.join(dir, `seed-${String(i).padStart(3, '0')}.mp4`);
    const h = await sha256File(file);
    repo.addSegment({ camera, runId, path: file, start: first + i * o.seconds * 1000, end: first + (i + 1) * o.seconds * 1000, bytes: h.bytes, sha256: h.sha256 });
    files.push(file);
  }
  return { first, end, files };
}
