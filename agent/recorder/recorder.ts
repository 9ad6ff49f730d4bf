import type { AgentContext } from '../core/context.js';
import type { Module } from '../core/module.js';
import fs from 'node:fs';
import path from 'node:path';
import { AlarmRepo } from '../store/alarms.js';
import { RecordingRepo } from '../store/recordings.js';
import { CameraRecorder, type CameraStats } from './camera.js';
import { isRecording, readRunState, signal, waitGone } from './runstate.js';
import { streamUrlOf } from '../cameras/stream.js';
import type { CameraConfig } from '../config/schema.js';
import { windowAt } from './schedule.js';
import { windowsOf } from './timetable.js';
import { Ticker, recorderTickMs } from './ticker.js';

const DAY = 86_400_000;
/** lessons imported or changed while the agent runs are picked up within this time (no restart) */
const REPLAN_MS = 15_000;

/**
 * The recorder: one supervised ffmpeg per enabled camera while the camera's recording window is
 * open (recorder/schedule: the timetable's lessons plus margins, or always). It owns every ffmpeg
 * recording process of the agent; nothing else starts one. The windows are re-read from the
 * store at every window edge and every `replanMs`, so a class imported while the agent runs
 * is recorded without a restart.
 */
export class Recorder implements Module {
  readonly name = 'recorder';
  private cams: CameraRecorder[] = [];
  private configs = new Map<string, CameraConfig>();
  private beat?: NodeJS.Timeout;
  private planTimer?: NodeJS.Timeout;
  /** window transitions, one at a time (start and pause of a camera are asynchronous) */
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;
  private watchImports?: () => void;
  /** one timer for every camera's watchdog and the timetable poll */
  private readonly ticker: Ticker;
  /** one repo (its statements prepared once) for the cameras and the schedule */
  private repo?: RecordingRepo;

  constructor(
    private ctx: AgentContext,
    private opts: { replanMs?: number } = {},
  ) {
    this.ticker = new Ticker(recorderTickMs(ctx.cfg.recorder.stallSeconds), (err) => ctx.log.error({ err: err.message }, 'recorder tick failed'));
  }

  /** Touched every 30 s while the agent lives; each ffmpeg's watchdog reads it (orphanMinutes). */
  get heartbeatFile(): string {
    return path.join(this.ctx.paths.video, '.recorder-heartbeat');
  }

  private heartbeat(): void {
    const now = new Date();
    try {
      fs.utimesSync(this.heartbeatFile, now, now);
    } catch {
      fs.writeFileSync(this.heartbeatFile, `${process.pid}\n`);
    }
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.ctx.paths.video, { recursive: true });
    this.heartbeat();
    this.beat = setInterval(() => this.heartbeat(), 30_000);
    this.beat.unref();
    const repo = new RecordingRepo(this.ctx.store);
    this.repo = repo;
    const alarms = new AlarmRepo(this.ctx.store);
    this.stopped = false;
    this.cams = this.ctx.cfg.cameras
      .map((cam, i) => ({ cam, i }))
      .filter(({ cam }) => cam.enabled)
      .map(({ cam, i }) => {
        this.configs.set(cam.id, cam);
        return new CameraRecorder(this.ctx, cam, repo, alarms, () => streamUrlOf(cam, `cameras[${i}]`), this.heartbeatFile, this.ticker);
      });
    await this.stopRemoved();
    await this.replan(true);
    // a class imported by the CLI (another connection) is recorded within a tick (2 s)
    let version = this.ctx.store.dataVersion();
    this.watchImports = this.ticker.add(() => {
      const v = this.ctx.store.dataVersion();
      if (v !== version) {
        version = v;
        void this.replan();
      }
    });
  }

  /**
   * Bring every camera in line with its window at the clock's now: start the ones whose window
   * is open, pause (clean stop, no gap) the ones whose window closed; then wake at the next edge.
   * At the agent's start every camera is settled, so what the previous life left is taken over.
   */
  private replan(first = false): Promise<void> {
    const run = async () => {
      if (this.stopped) return;
      const now = this.ctx.now();
      let gapFrom = now - DAY;
      for (const c of this.cams) gapFrom = Math.min(gapFrom, this.repo!.openGapOf(c.stats.camera)?.start_ms ?? now);
      const windows = windowsOf(this.ctx.store, this.ctx.cfg, [...this.configs.values()], gapFrom, now + 2 * DAY);
      let next = now + (this.opts.replanMs ?? REPLAN_MS);
      // why sequential: each camera's take-over may probe files with ffprobe; on a 2-core box
      // eight at once would starve the cameras already recording
      for (const c of this.cams) {
        if (this.stopped) return;
        const w = windows.get(c.stats.camera) ?? [];
        const at = windowAt(w, now);
        if (at.on && !c.active) {
          this.ctx.log.info({ camera: c.stats.camera, window: at.window }, 'recording window open: recording');
          await c.start(at.window!.start, w);
        } else if (!at.on && (c.active || first)) {
          if (c.active) this.ctx.log.info({ camera: c.stats.camera, next: at.nextEdge }, 'recording window closed: stopping cleanly');
          await c.pause(w);
        }
        if (at.nextEdge !== undefined && at.nextEdge < next) next = at.nextEdge;
      }
      if (this.stopped) return;
      if (this.planTimer) clearTimeout(this.planTimer);
      this.planTimer = setTimeout(() => void this.replan(), Math.max(50, next - this.ctx.now()));
      this.planTimer.unref();
    };
    this.busy = this.busy.then(run).catch((err) => this.ctx.log.error({ err: (err as Error).message }, 'recording schedule failed'));
    return this.busy;
  }

  /**
   * A camera removed or disabled while the agent was away may have an ffmpeg still recording:
   * stop it cleanly (its files are recovered if the camera comes back).
   */
  private async stopRemoved(): Promise<void> {
    const enabled = new Set(this.cams.map((c) => c.stats.camera));
    let dirs: string[] = [];
    try {
      dirs = fs.readdirSync(this.ctx.paths.video);
    } catch {
      return;
    }
    for (const d of dirs) {
      if (enabled.has(d)) continue;
      const st = readRunState(path.join(this.ctx.paths.video, d, '.ffmpeg.json'));
      if (!st || !isRecording(st)) continue;
      this.ctx.log.info({ camera: d, pid: st.pid }, 'stopping the ffmpeg of a camera no longer recorded');
      signal(st.pid, 'SIGINT');
      await waitGone(st, this.ctx.cfg.recorder.stopTimeoutMs);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.planTimer) clearTimeout(this.planTimer);
    this.watchImports?.();
    await this.busy;
    await Promise.all(this.cams.map((c) => c.stop()));
    this.cams = [];
    if (this.beat) clearInterval(this.beat);
  }

  stats(): CameraStats[] {
    return this.cams.map((c) => c.stats);
  }
}
