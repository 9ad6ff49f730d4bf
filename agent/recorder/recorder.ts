import type { AgentContext } from '../core/context.js';
import type { Module } from '../core/module.js';
import { pdeathsigProblem } from '../ffmpeg/run.js';
import { AlarmRepo } from '../store/alarms.js';
import { RecordingRepo } from '../store/recordings.js';
import { CameraRecorder, type CameraStats } from './camera.js';
import { streamUrlOf } from '../cameras/stream.js';

/**
 * The recorder: one supervised ffmpeg per enabled camera. It owns every ffmpeg recording
 * process of the agent; nothing else starts one.
 */
export class Recorder implements Module {
  readonly name = 'recorder';
  private cams: CameraRecorder[] = [];

  constructor(private ctx: AgentContext) {}

  async start(): Promise<void> {
    const noDeathSignal = pdeathsigProblem();
    if (noDeathSignal) {
      // not an error: a restarted agent still stops a left-over ffmpeg by its pid file, and
      // under systemd KillMode=mixed does it when the agent dies
      this.ctx.log.info({ why: noDeathSignal }, 'ffmpeg runs without a parent-death signal');
    }
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
