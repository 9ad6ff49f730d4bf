import fs from 'node:fs';
import path from 'node:path';
import { sha256File } from '../core/hash.js';
import { RetentionRepo, type VideoRow } from '../store/retention.js';
import type { Store } from '../store/store.js';

export interface VideoPurgeResult {
  deleted: number;
  archived: number;
  bytesFreed: number;
  /** segments kept although expired, with the reason (archive failed, hash mismatch, outside the video folder) */
  kept: { id: number; path: string; reason: string }[];
}

const inside = (dir: string, file: string) => {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return !!rel && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/**
 * Copy a segment to the archive and prove the copy: write, fsync, re-read and compare its
 * sha256 with the hash recorded when the segment was indexed. Only a proven copy counts.
 */
async function archive(row: VideoRow, archiveDir: string): Promise<string | undefined> {
  const dest = path.join(archiveDir, row.camera, path.basename(row.path));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.partial`;
  await fs.promises.copyFile(row.path, tmp);
  const fd = fs.openSync(tmp, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const got = (await sha256File(tmp)).sha256;
  if (got !== row.sha256) {
    fs.rmSync(tmp, { force: true });
    return `archived copy hash ${got.slice(0, 12)}… differs from the indexed ${row.sha256.slice(0, 12)}…`;
  }
  fs.renameSync(tmp, dest);
  return undefined;
}

/**
 * Delete the files of expired segments, oldest first, at most `batch` per call. A file goes only
 * when (1) the store says it expired, (2) it lies inside the video folder, and (3) where an
 * archive folder is configured, a verified copy exists there. Anything else is kept and reported.
 */
export async function purgeVideos(store: Store, opts: { now: number; batch: number; videoDir: string; archiveDir?: string; signal?: AbortSignal }): Promise<VideoPurgeResult> {
  const repo = new RetentionRepo(store);
  const res: VideoPurgeResult = { deleted: 0, archived: 0, bytesFreed: 0, kept: [] };
  for (const row of repo.expiredVideos(opts.now, opts.batch)) {
    if (opts.signal?.aborted) break;
    if (!inside(opts.videoDir, row.path)) {
      res.kept.push({ id: row.id, path: row.path, reason: `outside the video folder ${opts.videoDir}` });
      continue;
    }
    const exists = fs.existsSync(row.path);
    if (opts.archiveDir && row.archived_ms === null) {
      if (!exists) {
        res.kept.push({ id: row.id, path: row.path, reason: 'file missing, cannot archive' });
        continue;
      }
      let problem: string | undefined;
      try {
        problem = await archive(row, opts.archiveDir);
      } catch (err) {
        problem = `archive failed: ${(err as Error).message}`;
      }
      if (problem) {
        res.kept.push({ id: row.id, path: row.path, reason: problem });
        continue;
      }
      repo.markArchived(row.id, opts.now);
      res.archived++;
    }
    if (exists) fs.rmSync(row.path, { force: true });
    if (repo.markDeleted(row.id, opts.now)) {
      res.deleted++;
      res.bytesFreed += exists ? row.bytes : 0;
    }
  }
  // cut originals (their whole fragments, if any, live on as an indexed repaired copy) expire
  // with the video of their time; they are not evidence by themselves, so they are not archived
  for (const c of repo.expiredCuts(opts.now, opts.batch)) {
    if (opts.signal?.aborted) break;
    if (!inside(opts.videoDir, c.path)) continue;
    const exists = fs.existsSync(c.path);
    if (exists) fs.rmSync(c.path, { force: true });
    if (repo.markCutDeleted(c.id, opts.now)) res.bytesFreed += exists ? c.bytes : 0;
  }
  return res;
}
