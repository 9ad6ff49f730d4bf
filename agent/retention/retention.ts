import type { Logger } from 'pino';
import { cutLog } from '../evidence/prune.js';
import { keyFolderOf, originOf } from '../evidence/keys.js';
import type { AgentContext } from '../core/context.js';
import { logger } from '../core/log.js';
import type { Module } from '../core/module.js';
import { AlarmRepo } from '../store/alarms.js';
import { diskSpace, forecast, type DiskForecast, type DiskSpace } from './disk.js';
import { purgeExpired } from './purge.js';
import { reconcile, type ReconcileReport } from './reconcile.js';
import { purgeVideos, type VideoPurgeResult } from './video.js';

const YEAR_MS = 365.25 * 86_400_000;
const GB = 1024 ** 3;

export interface RetentionPass {
  at: number;
  purged: Record<string, number>;
  videos: VideoPurgeResult;
  disk: DiskForecast;
  reconcile?: ReconcileReport;
}

/**
 * The 3-year policy. Each pass: purge expired metadata in bounded batches, delete expired video
 * (archived first where an archive is configured), measure the disk and forecast when it fills,
 * and once a day reconcile the video folder with the store. It never deletes unexpired
 * evidence — not even when the disk is full: then it raises `disk-full` and the recorder
 * records the gap; a human adds disk or archives.
 */
export class Retention implements Module {
  readonly name = 'retention';
  private log: Logger = logger('retention');
  private timer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private running: Promise<RetentionPass | undefined> | undefined;
  private lastReconcile = 0;

  /** `space` is injectable so tests can present a full disk; default: statfs of the video folder */
  constructor(
    private ctx: AgentContext,
    private space: (dir: string) => DiskSpace = diskSpace,
  ) {}

  async start(): Promise<void> {
    this.abort = new AbortController();
    const every = this.ctx.cfg.retention.intervalMinutes * 60_000;
    // first pass shortly after start: not in the way of the recorder's startup
    const first = setTimeout(() => void this.safePass(), Math.min(15_000, every));
    first.unref();
    this.timer = setInterval(() => void this.safePass(), every);
    this.timer.unref();
    this.firstTimer = first;
  }

  private firstTimer: NodeJS.Timeout | undefined;

  async stop(): Promise<void> {
    this.abort?.abort();
    if (this.timer) clearInterval(this.timer);
    if (this.firstTimer) clearTimeout(this.firstTimer);
    this.timer = this.firstTimer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async safePass(): Promise<void> {
    try {
      await this.pass();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'retention pass failed');
    }
  }

  /** One retention pass (public: tests and `doctor` drive it with their clock). */
  pass(opts: { reconcile?: boolean } = {}): Promise<RetentionPass | undefined> {
    if (this.running) return this.running;
    this.running = this.doPass(opts).finally(() => (this.running = undefined));
    return this.running;
  }

  private async doPass(opts: { reconcile?: boolean }): Promise<RetentionPass | undefined> {
    const { cfg, store, paths } = this.ctx;
    const signal = this.abort?.signal;
    const now = this.ctx.now();
    const r = cfg.retention;
    const alarms = new AlarmRepo(store);
    // all expired segments, batch after batch (after a long outage there may be days of them);
    // a batch that only kept files (archive down) ends the loop: the next pass retries
    const videos: VideoPurgeResult = { deleted: 0, archived: 0, bytesFreed: 0, kept: [] };
    for (;;) {
      const b = await purgeVideos(store, { now, batch: r.purgeBatch, videoDir: paths.video, archiveDir: r.archiveDir, signal });
      videos.deleted += b.deleted;
      videos.archived += b.archived;
      videos.bytesFreed += b.bytesFreed;
      videos.kept.push(...b.kept.slice(0, 100 - videos.kept.length));
      if (b.deleted === 0 || b.deleted + b.kept.length < r.purgeBatch || signal?.aborted) break;
    }
    const purged = await purgeExpired(store, now, r.purgeBatch, signal);
    if (signal?.aborted) return undefined;
    const cut = cutLog(store, keyFolderOf(cfg), originOf(cfg), now);
    if (cut !== undefined) this.log.info({ upTo: cut }, 'evidence log cut at its start (signed)');
    if (videos.deleted || Object.keys(purged).length) this.log.info({ videos: videos.deleted, archived: videos.archived, bytesFreed: videos.bytesFreed, purged }, 'expired evidence purged');
    if (videos.kept.length) {
      this.log.warn({ kept: videos.kept.slice(0, 10), count: videos.kept.length }, 'expired segments kept');
      this.alarm(alarms, 'archive-failed', 'video', true, `${videos.kept.length} 个过期录像未能归档，暂不删除 / ${videos.kept.length} expired segment(s) kept: ${videos.kept[0].reason}`, now);
    } else this.alarm(alarms, 'archive-failed', 'video', false, '', now);

    const disk = forecast(store, { now, windowDays: r.rateWindowDays, budgetBytes: r.diskBudgetBytes, space: this.space(paths.video) });
    this.ctx.bus.emit('disk.status', { usedBytes: disk.usedBytes, availableBytes: disk.headroomBytes, bytesPerDay: disk.bytesPerDay, daysUntilFull: disk.daysUntilFull, full: disk.full, at: now });
    const gb = (n: number) => (n / GB).toFixed(1);
    this.alarm(
      alarms,
      'disk-full',
      'video',
      disk.full,
      `磁盘已满：录像将中断，未过期证据不会被删除，请扩容或归档（剩余 ${gb(disk.headroomBytes)} GB） / disk full: recording will stop; unexpired evidence is never deleted — add disk or archive (${gb(disk.headroomBytes)} GB left)`,
      now,
    );
    const soon = disk.daysUntilFull !== null && disk.daysUntilFull < r.alarmDaysBeforeFull;
    this.alarm(
      alarms,
      'disk-forecast',
      'video',
      soon && !disk.full,
      `按当前录像速率（每天 ${gb(disk.bytesPerDay)} GB），约 ${Math.floor(disk.daysUntilFull ?? 0)} 天后磁盘将满 / at the measured ${gb(disk.bytesPerDay)} GB/day the disk fills in about ${Math.floor(disk.daysUntilFull ?? 0)} days`,
      now,
    );

    let rec: ReconcileReport | undefined;
    if (opts.reconcile || now - this.lastReconcile >= 86_400_000) {
      this.lastReconcile = now;
      rec = await reconcile(store, { videoDir: paths.video, now, retentionMs: this.ctx.profile.rules.retention.years * YEAR_MS, signal });
      if (signal?.aborted) return undefined;
      if (rec.suspicious) this.log.warn({ reason: rec.suspicious }, 'store looks suspicious; reconciliation deletes nothing');
      if (rec.orphanCount) this.log.warn({ count: rec.orphanCount, sample: rec.orphans.slice(0, 5) }, 'video files unknown to the store (kept)');
      this.alarm(alarms, 'store-suspicious', 'video', !!rec.suspicious, `存储与磁盘不一致，已停止任何删除 / store and disk disagree, nothing is deleted: ${rec.suspicious}`, now);
      this.alarm(
        alarms,
        'video-missing',
        'video',
        !rec.suspicious && rec.missingCount > 0,
        `${rec.missingCount} 个已索引录像文件在磁盘上缺失 / ${rec.missingCount} indexed segment file(s) missing from disk, e.g. ${rec.missing[0]}`,
        now,
      );
    }
    return { at: now, purged, videos, disk, ...(rec ? { reconcile: rec } : {}) };
  }

  private alarm(alarms: AlarmRepo, kind: string, subject: string, want: boolean, message: string, now: number): void {
    if (want) {
      if (alarms.raise(kind, subject, message, now)) {
        this.log.warn({ kind, message }, 'alarm raised');
        this.ctx.bus.emit('alarm.raised', { kind, subject, message, at: now });
      }
    } else if (alarms.clear(kind, subject, now)) {
      this.ctx.bus.emit('alarm.cleared', { kind, subject, at: now });
    }
  }
}
