import type { AgentContext } from '../core/context.js';
import type { Module } from '../core/module.js';
import { AlarmRepo } from '../store/alarms.js';
import { RecordingRepo } from '../store/recordings.js';
import { CameraRecorder, type CameraStats } from './camera.js';
import { streamUrlOf } from './url.js';

/**
 * The recorder: one supervised ffmpeg per enabled camera. It owns every ffmpeg recording
 * process of the agent; nothing else starts one.
 */
export class Recorder implements Module {
  readonly name = 'recorder';
  private cams: CameraRecorder[] = [];

  constructor(private ctx: AgentContext) {}

  async start(): Promise<void> {
    const repo = new RecordingRepo(this.ctx.store);
    const alarms = new AlarmRepo(this.ctx.store);
    this.cams = this.ctx.cfg.cameras
      .map((cam, i) => ({ cam, i }))
      .filter(({ cam }) => cam.enabled)
      .map(({ cam, i }) => new CameraRecorder(this.ctx, cam, repo, alarms, () => streamUrlOf(cam, `cameras[${i}]`)));
    // why sequential recovery: each camera's recovery probes files with ffprobe; on a 2-core box
    // eight at once would starve the cameras already recording
    for (const c of this.cams) await c.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.cams.map((c) => c.stop()));
    this.cams = [];
  }

  stats(): CameraStats[] {
    return this.cams.map((c) => c.stats);
  }
}
