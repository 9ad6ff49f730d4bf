import fs from 'node:fs';
import path from 'node:path';

/**
 * Segment files: <video>/<camera>/<YYYY-MM-DD>/<run start, UTC ms>_r<run>_<n>.mp4.
 * The run start in the name keeps names unique even if the database is ever replaced (run ids
 * would then repeat), so ffmpeg can never overwrite an earlier file.
 */
export function runDir(videoRoot: string, camera: string, at: number): string {
  return path.join(videoRoot, camera, new Date(at).toISOString().slice(0, 10));
}

export function runPattern(dir: string, runId: number, at: number): string {
  const stamp = new Date(at).toISOString().replace(/[-:]/g, '').replace('.', '');
  return path.join(dir, `${stamp}_r${runId}_%05d.mp4`);
}

export function segmentPath(pattern: string, n: number): string {
  return pattern.replace('%05d', String(n).padStart(5, '0'));
}

const NAME = /_r(\d+)_(\d+)(\.repaired)?\.mp4$/;
export function parseSegmentName(file: string): { runId: number; n: number; repaired: boolean } | undefined {
  const m = NAME.exec(file);
  return m ? { runId: Number(m[1]), n: Number(m[2]), repaired: !!m[3] } : undefined;
}

/** The name of the copy of a cut segment's whole fragments (recovery.ts). */
export const repairedName = (name: string) => name.replace(/\.mp4$/, '.repaired.mp4');

/** The run's segment list file (ffmpeg's `-segment_list`, CSV) and its error log, beside its segments. */
export const listFileOf = (pattern: string) => pattern.replace(/_%05d\.mp4$/, '.csv');
export const errFileOf = (pattern: string) => pattern.replace(/_%05d\.mp4$/, '.log');

/** One line of `-segment_list_type csv`: file,start,end (seconds from the run's first packet). */
export function parseCsvLine(line: string): { file: string; startSec: number; endSec: number } | undefined {
  const m = /^(.*),(-?[\d.]+),(-?[\d.]+)$/.exec(line.trim());
  if (!m) return undefined;
  let file = m[1];
  if (file.startsWith('"') && file.endsWith('"')) file = file.slice(1, -1).replace(/""/g, '"');
  return { file, startSec: Number(m[2]), endSec: Number(m[3]) };
}

/**
 * Every .mp4 under a camera's folder, sorted by name (= by run start, then segment number).
 * `sinceDay` (YYYY-MM-DD) skips older day folders: three years of minute segments are 1.5 M
 * files, and only recent ones can be unindexed after a crash.
 */
export function listSegmentFiles(cameraDir: string, sinceDay?: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth = 0) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (depth === 0 && sinceDay && /^\d{4}-\d{2}-\d{2}$/.test(e.name) && e.name < sinceDay) continue;
        walk(p, depth + 1);
      } else if (e.isFile() && e.name.endsWith('.mp4')) out.push(p);
    }
  };
  walk(cameraDir);
  return out.sort((a, b) => path.basename(a).localeCompare(path.basename(b)) || a.localeCompare(b));
}
