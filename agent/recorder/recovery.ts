import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { probeFile } from '../ffmpeg/run.js';
import type { GapRow, RecordingRepo } from '../store/recordings.js';
import { sha256File } from '../core/hash.js';
import { listSegmentFiles, parseSegmentName } from './segments.js';

export interface Recovered {
  id: number;
  path: string;
  start: number;
  end: number;
  bytes: number;
  closedGap?: GapRow;
}

/**
 * Index every segment file under the camera's folder that the store does not know: the open
 * segment of a run killed with -9, the last one before a power cut, one whose list line was
 * lost. Its duration comes from ffprobe (fragmented MP4 is readable up to the last fragment),
 * its start from the previous segment of the same run (segments of a run are contiguous),
 * else from its last write time minus its duration. A file that holds no readable video is
 * indexed with zero duration: it exists, and its hash proves what it holds.
 * Nothing is ever deleted here.
 */
export async function recoverSegments(opts: {
  camera: string;
  cameraDir: string;
  repo: RecordingRepo;
  log: Logger;
  ffprobePath?: string;
  /** files currently being written (a running ffmpeg's open segment) are skipped */
  skip?: (file: string) => boolean;
}): Promise<Recovered[]> {
  const { camera, repo, log } = opts;
  // only day folders from the day before the newest indexed segment (or the oldest run left
  // open) can hold unindexed files; a store that knows nothing of the camera scans everything
  const last = repo.lastSegment(camera);
  const open = repo.openRuns(camera)[0];
  const from = Math.min(last?.start_ms ?? Infinity, open?.started_ms ?? Infinity);
  const sinceDay = Number.isFinite(from) ? new Date(from - 86_400_000).toISOString().slice(0, 10) : undefined;
  const out: Recovered[] = [];
  // end of each indexed segment by (run, n), filled as we go so consecutive recovered files chain
  const endOf = new Map<string, number>();
  const key = (run: number, n: number) => `${run}:${n}`;
  for (const f of listSegmentFiles(opts.cameraDir, sinceDay)) {
    const parsed = parseSegmentName(path.basename(f));
    if (opts.skip?.(f) || repo.hasPath(f)) continue;
    let st: fs.Stats;
    try {
      st = fs.statSync(f);
    } catch {
      continue;
    }
    let durationMs = 0;
    try {
      const p = await probeFile(f, opts.ffprobePath);
      durationMs = p.hasVideo ? Math.round(p.durationSec * 1000) : 0;
    } catch (err) {
      log.warn({ file: f, err: (err as Error).message }, 'segment holds no readable video; indexed with zero duration, file kept');
    }
    let start: number | undefined;
    let runId: number | null = null;
    if (parsed) {
      const run = repo.runExists(parsed.runId) ? parsed.runId : null;
      runId = run;
      if (parsed.n > 0) {
        const prevKey = key(parsed.runId, parsed.n - 1);
        let prevEnd = endOf.get(prevKey);
        if (prevEnd === undefined && run !== null) {
          const prevName = path.basename(f).replace(/_(\d+)\.mp4$/, `_${String(parsed.n - 1).padStart(5, '0')}.mp4`);
          prevEnd = repo.segmentsOfRun(run).find((s) => path.basename(s.path) === prevName)?.end_ms;
        }
        start = prevEnd;
      }
    }
    const lastWrite = Math.round(st.mtimeMs);
    if (start === undefined) start = lastWrite - durationMs;
    const end = start + durationMs;
    const { sha256, bytes } = await sha256File(f);
    const { id, closedGap } = repo.addSegment({ camera, runId: runId ?? undefined, path: f, start, end, bytes, sha256, recovered: true });
    if (parsed) endOf.set(key(parsed.runId, parsed.n), end);
    out.push({ id, path: f, start, end, bytes, closedGap });
    log.info({ file: f, start, end, durationMs, bytes }, 'recovered unindexed segment');
  }
  return out;
}
