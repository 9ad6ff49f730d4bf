import fs from 'node:fs';
import path from 'node:path';
import { parseSegmentName } from '../recorder/segments.js';
import { RetentionRepo } from '../store/retention.js';
import type { Store } from '../store/store.js';

/** Marker written in the video folder when the agent first uses it: its absence later means the disk is not mounted. */
export const VIDEO_MARKER = '.classroom-agent-video';

/** Most orphans / missing files listed in a report (all are counted). */
const LIST_MAX = 1000;

export interface ReconcileReport {
  files: number;
  rows: number;
  /** files on disk the store does not know (first LIST_MAX) */
  orphans: string[];
  orphanCount: number;
  /** segments the store lists whose file is gone (first LIST_MAX) */
  missing: string[];
  missingCount: number;
  /** why the store cannot be trusted to decide deletions, or null */
  suspicious: string | null;
  /** orphans deleted (only with deleteOrphans, never when suspicious, never within retention) */
  deleted: string[];
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Walk a folder tree without holding the event loop: years of segments are millions of files,
 * and a synchronous walk would stall recording and miss systemd's watchdog.
 */
async function* walk(dir: string, signal?: AbortSignal): AsyncGenerator<{ file: string; mtimeMs: number }> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  let n = 0;
  for (const e of entries) {
    if (signal?.aborted) return;
    if (++n % 500 === 0) await yieldToLoop();
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p, signal);
    else if (e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.partial')) {
      try {
        yield { file: p, mtimeMs: (await fs.promises.stat(p)).mtimeMs };
      } catch {
        // vanished between readdir and stat (the recorder renamed or retention deleted it)
      }
    }
  }
}

/**
 * Compare the video folder (<video>/<camera>/...) with the store. It reports; it deletes only
 * orphans older than the retention period, only when asked, and never when the store looks
 * wrong — a new or emptied database next to a full video folder is how Frigate wiped all
 * recordings (blakeblackshear/frigate#7838). Suspicious: the store lists no segments but files
 * exist; it lists fewer than half as many segments as there are files; the database is younger
 * than files it does not know; or the folder's marker is gone while the store lists segments
 * (the video disk is not mounted). Streams both sides (indexed lookups by path), so memory does
 * not grow with the number of segments.
 */
export async function reconcile(store: Store, opts: { videoDir: string; now: number; retentionMs: number; deleteOrphans?: boolean; signal?: AbortSignal }): Promise<ReconcileReport> {
  const repo = new RetentionRepo(store);
  const rows = repo.liveCount();
  const created = repo.createdMs();
  const markerPresent = fs.existsSync(path.join(opts.videoDir, VIDEO_MARKER));
  let files = 0;
  let orphanCount = 0;
  let olderThanStore = false;
  const orphans: { file: string; mtimeMs: number }[] = [];
  const expiredOrphans: string[] = [];
  for await (const f of walk(opts.videoDir, opts.signal)) {
    // only segment files count: a run's list (.csv) and ffmpeg messages (.log) sit beside them
    if (!f.file.endsWith('.mp4')) continue;
    files++;
    if (repo.knowsPath(f.file) || repo.knowsPath(path.resolve(f.file))) continue;
    // a running ffmpeg's open segment (its run not ended) is not unknown, only unfinished
    const run = parseSegmentName(path.basename(f.file));
    if (run && repo.runOpen(run.runId)) continue;
    orphanCount++;
    if (orphans.length < LIST_MAX) orphans.push(f);
    if (created !== null && f.mtimeMs < created - 3_600_000) olderThanStore = true;
    if (f.mtimeMs + opts.retentionMs < opts.now) expiredOrphans.push(f.file);
  }
  let missingCount = 0;
  const missing: string[] = [];
  let n = 0;
  for (const p of repo.iterateLivePaths()) {
    if (opts.signal?.aborted) break;
    if (++n % 500 === 0) await yieldToLoop();
    if (fs.existsSync(p)) continue;
    missingCount++;
    if (missing.length < LIST_MAX) missing.push(p);
  }

  let suspicious: string | null = null;
  if (rows > 0 && !markerPresent) suspicious = `the video folder ${opts.videoDir} lacks its marker ${VIDEO_MARKER}: is the video disk mounted?`;
  else if (rows === 0 && files > 0) suspicious = `the store lists no segments but ${files} files are on disk`;
  else if (files >= 10 && rows < files / 2) suspicious = `the store lists ${rows} segments for ${files} files on disk`;
  else if (olderThanStore) suspicious = 'the database is younger than video files it does not know (new or restored database?)';

  const deleted: string[] = [];
  if (opts.deleteOrphans && !suspicious && !opts.signal?.aborted) {
    // within retention an orphan could be evidence whose row was lost: only expired ones go
    for (const f of expiredOrphans) {
      await fs.promises.rm(f, { force: true });
      deleted.push(f);
    }
  }
  return { files, rows, orphans: orphans.map((o) => o.file), orphanCount, missing, missingCount, suspicious, deleted };
}

/** Put the marker in a video folder the agent starts using (fresh store, no segments yet). */
export function ensureMarker(store: Store, videoDir: string, boxId: string): void {
  const marker = path.join(videoDir, VIDEO_MARKER);
  if (fs.existsSync(marker)) return;
  if (new RetentionRepo(store).recordingCount() > 0) return; // do not paper over a missing mount
  fs.mkdirSync(videoDir, { recursive: true });
  fs.writeFileSync(marker, `${boxId}\n`);
}
