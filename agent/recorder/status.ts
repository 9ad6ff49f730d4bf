import path from 'node:path';
import type { Config } from '../config/schema.js';
import { RecordingRepo } from '../store/recordings.js';
import type { Store } from '../store/store.js';
import { isRecording, readRunState } from './runstate.js';

/**
 * Each camera as `status` and `doctor` show it, from what a separate process can see: the
 * store (last segment, open run and gap, bitrate over the last hour) and the recorder's
 * `.ffmpeg.json` (is its ffmpeg running, since when). No fps: the store does not keep frames.
 */
export interface CameraNow {
  camera: string;
  enabled: boolean;
  /** an ffmpeg is recording this camera now */
  recording: boolean;
  pid: number | null;
  since: number | null;
  lastSegmentEnd: number | null;
  /** measured over the last hour of segments, bit/s */
  bitrate: number | null;
  openGap: { start: number; reason: string; detail: string | null } | null;
}

export function camerasNow(store: Store, cfg: Config, videoDir: string, now: number): CameraNow[] {
  const repo = new RecordingRepo(store);
  return cfg.cameras.map((c) => {
    const st = readRunState(path.join(videoDir, c.id, '.ffmpeg.json'));
    const running = !!st && isRecording(st);
    const last = repo.lastSegment(c.id);
    const vol = repo.volumeSince(c.id, now - 3_600_000);
    const gap = repo.openGapOf(c.id);
    return {
      camera: c.id,
      enabled: c.enabled,
      recording: running,
      pid: running ? st!.pid : null,
      since: running ? st!.startedAt : null,
      lastSegmentEnd: last?.end_ms ?? null,
      bitrate: vol.ms > 0 ? Math.round((vol.bytes * 8) / (vol.ms / 1000)) : null,
      openGap: gap ? { start: gap.start_ms, reason: gap.reason, detail: gap.detail } : null,
    };
  });
}
