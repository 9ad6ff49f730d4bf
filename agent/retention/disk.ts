import fs from 'node:fs';
import { RetentionRepo } from '../store/retention.js';
import type { Store } from '../store/store.js';

const DAY = 86_400_000;

export interface DiskSpace {
  totalBytes: number;
  /** free for an unprivileged user (the agent runs as its own user) */
  availBytes: number;
}

export function diskSpace(dir: string): DiskSpace {
  const s = fs.statfsSync(dir);
  return { totalBytes: s.blocks * s.bsize, availBytes: s.bavail * s.bsize };
}

/**
 * Free bytes for an unprivileged writer on the filesystem holding `dir`; Infinity if unknown.
 * The recorder's quick check before each segment (ENOSPC comes fast anyway); the budget and its
 * forecast are retention's (forecast below).
 */
export function freeBytes(dir: string): number {
  try {
    return diskSpace(dir).availBytes;
  } catch {
    return Infinity;
  }
}

export interface DiskForecast {
  /** video + database bytes the agent holds now */
  usedBytes: number;
  /** what the agent may still write: min(budget − used, free on the disk) */
  headroomBytes: number;
  budgetBytes: number;
  /** measured: bytes recorded per day over the rate window */
  bytesPerDay: number;
  /** bytes freed per day by expiries over the same window ahead */
  freedPerDay: number;
  /** null: not growing (or not enough history to say) */
  daysUntilFull: number | null;
  /** headroom below an hour of recording (or 64 MiB): recording is about to stop */
  full: boolean;
  measuredDays: number;
}

/**
 * The disk budget and its forecast. The rate is measured from the store (bytes of segments
 * recorded per day over the last `windowDays`), not assumed from camera settings; expiries due
 * over the next window are subtracted, so a box in its steady state (as much expiring as
 * recorded, after 3 years) forecasts no fill. The budget defaults to 90 % of the disk.
 */
export function forecast(store: Store, opts: { now: number; windowDays: number; budgetBytes?: number; space: DiskSpace }): DiskForecast {
  const repo = new RetentionRepo(store);
  const usedBytes = repo.videoBytes() + repo.databaseBytes();
  const budgetBytes = opts.budgetBytes ?? Math.floor(opts.space.totalBytes * 0.9);
  const headroomBytes = Math.min(budgetBytes - usedBytes, opts.space.availBytes);
  const from = opts.now - opts.windowDays * DAY;
  const rec = repo.recordedBetween(from, opts.now);
  // the rate over the time actually observed (a box installed yesterday has one day of history)
  const measuredDays = rec.first === null ? 0 : (opts.now - rec.first) / DAY;
  const bytesPerDay = measuredDays >= 1 / 24 ? rec.bytes / measuredDays : 0;
  const freedPerDay = repo.expiringBetween(opts.now, opts.now + opts.windowDays * DAY) / opts.windowDays;
  const net = bytesPerDay - freedPerDay;
  const daysUntilFull = headroomBytes <= 0 ? 0 : net > 0 ? headroomBytes / net : null;
  const full = headroomBytes < Math.max(bytesPerDay / 24, 64 * 1024 * 1024);
  return { usedBytes, headroomBytes, budgetBytes, bytesPerDay, freedPerDay, daysUntilFull, full, measuredDays };
}
