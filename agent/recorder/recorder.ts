import type { AgentContext } from '../core/context.js';
import type { Module } from '../core/module.js';
import fs from 'node:fs';
import path from 'node:path';
import { AlarmRepo } from '../store/alarms.js';
import { RecordingRepo } from '../store/recordings.js';
import { CameraRecorder, type CameraStats } from './camera.js';
import { isRecording, readRunState, signal, waitGone } from './runstate.js';
import { streamUrlOf } from './url.js';

/**
 * The recorder: one supervised ffmpeg per enabled camera. It owns every ffmpeg recording
 * process of the agent; nothing else starts one.
 */
export class Recorder implements Module {
  readonly name = 'recorder';
  private cams: CameraRecorder[] = [];
  private beat?: NodeJS.Timeout;

  constructor(private ctx: AgentContext) {}

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
    const alarms = new AlarmRepo(this.ctx.store);
    this.cams = this.ctx.cfg.cameras
      .map((cam, i) => ({ cam, i }))
      .filter(({ cam }) => cam.enabled)
      .map(({ cam, i }) => new CameraRecorder(this.ctx, cam, repo, alarms, () => streamUrlOf(cam, `cameras[${i}]`), this.heartbeatFile));
    await this.stopRemoved();
    // why sequential: each camera's take-over may probe files with ffprobe; on a 2-core box
    // eight at once would starve the cameras already recording
    for (const c of this.cams) await c.start();
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
    await Promise.all(this.cams.map((c) => c.stop()));
    this.cams = [];
    if (this.beat) clearInterval(this.beat);
  }

  stats(): CameraStats[] {
    return this.cams.map((c) => c.stats);
  }
}
