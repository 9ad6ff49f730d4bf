import fs from 'node:fs';
import path from 'node:path';
import { RetentionRepo } from '../store/retention.js';
import type { Store } from '../store/store.js';

/** Marker written in the video folder when the agent first uses it: its absence later means the disk is not mounted. */
export const VIDEO_MARKER = '.classroom-agent-video';

export interface ReconcileReport {
  files: number;
  rows: number;
  /** files on disk the store does not know */
  orphans: string[];
  /** segments the store lists whose file is gone */
  missing: string[];
  /** why the store cannot be trusted to decide deletions, or null */
  suspicious: string | null;
  /** orphans deleted (only with deleteOrphans, never when suspicious, never within retention) */
  deleted: string[];
}

function walk(dir: string, out: { file: string; mtimeMs: number }[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.partial')) out.push({ file: p, mtimeMs: fs.statSync(p).mtimeMs });
  }
}

/**
 * Compare the video folder (<video>/<camera>/...) with the store. It reports; it deletes only
 * orphans older than the retention period, only when asked, and never when the store looks
 * wrong — a new or emptied database next to a full video folder is how Frigate wiped all
 * recordings (blakeblackshear/frigate#7838). Suspicious: the store lists no segments but files
 * exist; it lists fewer than half as many segments as there are files; the database is younger
 * than files it does not know; or the folder's marker is gone while the store lists segments
 * (the video disk is not mounted).
 */
export function reconcile(
  store: Store,
  opts: { videoDir: string; now: number; retentionMs: number; deleteOrphans?: boolean },
): ReconcileReport {
  const repo = new RetentionRepo(store);
  const known = repo.livePaths();
  const rows = known.size;
  const files: { file: string; mtimeMs: number }[] = [];
  walk(opts.videoDir, files);
  const onDisk = new Set(files.map((f) => path.resolve(f.file)));
  const orphans = files.filter((f) => !known.has(path.resolve(f.file)) && !known.has(f.file));
  const missing = [...known].filter((p) => !onDisk.has(path.resolve(p)) && !fs.existsSync(p));
  const created = repo.createdMs();
  const markerPresent = fs.existsSync(path.join(opts.videoDir, VIDEO_MARKER));

  let suspicious: string | null = null;
  if (rows > 0 && !markerPresent) suspicious = `the video folder ${opts.videoDir} lacks its marker ${VIDEO_MARKER}: is the video disk mounted?`;
  else if (rows === 0 && files.length > 0) suspicious = `the store lists no segments but ${files.length} files are on disk`;
  else if (files.length >= 10 && rows < files.length / 2) suspicious = `the store lists ${rows} segments for ${files.length} files on disk`;
  else if (created !== null && orphans.some((o) => o.mtimeMs < created - 3_600_000)) suspicious = 'the database is younger than video files it does not know (new or restored database?)';

  const deleted: string[] = [];
  if (opts.deleteOrphans && !suspicious) {
    for (const o of orphans) {
      if (o.mtimeMs + opts.retentionMs >= opts.now) continue; // within retention: could be evidence whose row was lost
      fs.rmSync(o.file, { force: true });
      deleted.push(o.file);
    }
  }
  return { files: files.length, rows, orphans: orphans.map((o) => o.file), missing, suspicious, deleted };
}

/** Put the marker in a video folder the agent starts using (fresh store, no segments yet). */
export function ensureMarker(store: Store, videoDir: string, boxId: string): void {
  const marker = path.join(videoDir, VIDEO_MARKER);
  if (fs.existsSync(marker)) return;
  if (new RetentionRepo(store).recordingCount() > 0) return; // do not paper over a missing mount
  fs.mkdirSync(videoDir, { recursive: true });
  fs.writeFileSync(marker, `${boxId}\n`);
}
