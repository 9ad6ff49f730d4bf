import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { GapRow, RecordingRepo } from '../store/recordings.js';
import { sha256File } from '../core/hash.js';
import { inspectFmp4, writeCompletePrefix } from './fmp4.js';
import { listSegmentFiles, parseSegmentName, repairedName } from './segments.js';

export interface Recovered {
  id: number;
  path: string;
  start: number;
  end: number;
  bytes: number;
  closedGap?: GapRow;
}

/** A file found cut; `repaired` is the indexed copy of its whole fragments, if it had any. */
export interface CutFile {
  path: string;
  bytes: number;
  completeBytes: number;
  fragments: number;
  repaired?: string;
}

/** One sentence for a gap's detail. */
export function describeCut(c: CutFile): string {
  const name = path.basename(c.path);
  return c.repaired
    ? `${name} was cut: ${c.fragments} whole fragment(s) kept as ${path.basename(c.repaired)}, the last ${c.bytes - c.completeBytes} byte(s) (an unfinished fragment) lost`
    : `${name} (${c.bytes} bytes) holds no complete frame: not indexed, file kept`;
}

/**
 * Index every segment file under the camera's folder that the store does not know: the open
 * segment of an ffmpeg killed with -9, the last one before a power cut, one whose list line was
 * lost. What a file holds is read from its fragments (fmp4.ts), never believed from ffprobe
 * alone:
 * - whole (ends at a box boundary, at least one fragment): indexed, duration from its fragments;
 * - cut after at least one whole fragment: the whole fragments are copied to `<name>.repaired.mp4`
 *   (a valid file by itself), which is indexed; the original stays, described as a cut;
 * - no complete frame (header only, or cut inside the first fragment): never a segment; the
 *   file stays, described as a cut, and the caller's gap says so.
 * Its start comes from the previous segment of the same run (segments of a run are contiguous),
 * else from its last write time minus its duration. Nothing is ever deleted here.
 */
export async function recoverSegments(opts: {
  camera: string;
  cameraDir: string;
  repo: RecordingRepo;
  log: Logger;
  now?: () => number;
  /** files currently being written (a running ffmpeg's open segment) are skipped */
  skip?: (file: string) => boolean;
}): Promise<{ recovered: Recovered[]; cuts: CutFile[] }> {
  const { camera, repo, log } = opts;
  // only day folders from the day before the newest indexed segment (or the oldest run left
  // open) can hold unindexed files; a store that knows nothing of the camera scans everything
  const last = repo.lastSegment(camera);
  const open = repo.openRuns(camera)[0];
  const from = Math.min(last?.start_ms ?? Infinity, open?.started_ms ?? Infinity);
  const sinceDay = Number.isFinite(from) ? new Date(from - 86_400_000).toISOString().slice(0, 10) : undefined;
  const recovered: Recovered[] = [];
  const cuts: CutFile[] = [];
  // end of each indexed segment by (run, n), filled as we go so consecutive recovered files chain
  const endOf = new Map<string, number>();
  const key = (run: number, n: number) => `${run}:${n}`;
  for (const f of listSegmentFiles(opts.cameraDir, sinceDay)) {
    const parsed = parseSegmentName(path.basename(f));
    if (opts.skip?.(f) || repo.hasPath(f)) continue;
    // a repaired copy is handled through its original (a crash may have come between the two)
    if (parsed?.repaired) continue;
    let st: fs.Stats;
    let shape: ReturnType<typeof inspectFmp4>;
    try {
      st = fs.statSync(f);
      shape = inspectFmp4(f);
    } catch {
      continue;
    }
    let runId: number | null = null;
    let start: number | undefined;
    if (parsed) {
      runId = repo.runExists(parsed.runId) ? parsed.runId : null;
      if (parsed.n > 0) {
        let prevEnd = endOf.get(key(parsed.runId, parsed.n - 1));
        if (prevEnd === undefined && runId !== null) {
          const prevName = path.basename(f).replace(/_(\d+)\.mp4$/, `_${String(parsed.n - 1).padStart(5, '0')}`);
          prevEnd = repo.segmentsOfRun(runId).find((s) => path.basename(s.path).startsWith(prevName))?.end_ms;
        }
        start = prevEnd;
      }
    }
    const original = await sha256File(f);
    const cutRow = {
      camera,
      run_id: runId,
      path: f,
      bytes: original.bytes,
      sha256: original.sha256,
      complete_bytes: shape.completeBytes,
      fragments: shape.fragments,
      found_ms: (opts.now ?? Date.now)(),
    };
    if (shape.fragments === 0) {
      repo.addCut({ ...cutRow, repaired_path: null });
      const c: CutFile = { path: f, bytes: original.bytes, completeBytes: shape.completeBytes, fragments: 0 };
      cuts.push(c);
      log.warn({ file: f, bytes: original.bytes }, 'file holds no complete frame: not indexed, kept');
      continue;
    }
    const indexed = shape.intact ? f : path.join(path.dirname(f), repairedName(path.basename(f)));
    if (!shape.intact) writeCompletePrefix(f, shape.completeBytes, indexed);
    // the whole fragments' own timing (tfdt + trun), read with the shape above: an ffprobe per
    // file would read the same boxes at the cost of a process start (after a power cut, one per
    // camera, on a box whose cameras are reconnecting at the same time)
    const durationMs = shape.video ? Math.round(shape.durationSec * 1000) : 0;
    if (start === undefined) start = Math.round(st.mtimeMs) - durationMs;
    const end = start + durationMs;
    const row = { camera, runId: runId ?? undefined, start, end, recovered: true };
    let id: number;
    let closedGap: GapRow | undefined;
    let bytes = original.bytes;
    if (shape.intact) ({ id, closedGap } = repo.addSegment({ ...row, path: f, bytes, sha256: original.sha256 }));
    else {
      const rep = await sha256File(indexed);
      bytes = rep.bytes;
      const r = repo.addCut({ ...cutRow, repaired_path: indexed }, { ...row, path: indexed, bytes, sha256: rep.sha256 });
      ({ id, closedGap } = r.segment!);
      const c: CutFile = { path: f, bytes: original.bytes, completeBytes: shape.completeBytes, fragments: shape.fragments, repaired: indexed };
      cuts.push(c);
      log.warn({ file: f, kept: indexed, lostBytes: original.bytes - shape.completeBytes }, 'cut segment: whole fragments kept in a repaired copy');
    }
    if (parsed) endOf.set(key(parsed.runId, parsed.n), end);
    recovered.push({ id, path: indexed, start, end, bytes, closedGap });
    log.info({ file: indexed, start, end, durationMs, bytes }, 'recovered unindexed segment');
  }
  return { recovered, cuts };
}
