import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256File } from '../core/hash.js';
import { runFfmpegToBuffer } from '../ffmpeg/run.js';
import type { RecordingRepo } from '../store/recordings.js';

/**
 * A time range of one camera as one playable MP4, for handing over: the source segments are
 * joined by stream copy (ffmpeg's concat demuxer, so every frame is a frame the camera sent,
 * byte for byte), each source is checked against the SHA-256 stored when it was indexed before
 * it is used, and a manifest beside the clip names every source (path, time, SHA-256, where it
 * sits in the clip), the gaps in between with their reasons, and the clip's own SHA-256.
 * The clip starts at the keyframe at or before `from` (stream copy cannot start between
 * keyframes) and its timeline has no holes: a gap between sources is not in the clip, it is in
 * the manifest.
 */
export interface ExportSource {
  path: string;
  start: number;
  end: number;
  bytes: number;
  sha256: string;
  /** where this source's first included frame is in the clip, ms */
  clipOffsetMs: number;
}

export interface ExportManifest {
  kind: 'classroom-agent video export';
  version: 1;
  camera: string;
  from: number;
  to: number;
  createdAt: number;
  clip: { file: string; bytes: number; sha256: string };
  sources: ExportSource[];
  gaps: Array<{ start: number; end: number; reason: string }>;
}

export class ExportError extends Error {
  constructor(
    readonly kind: 'nothing recorded' | 'source changed' | 'source missing' | 'ffmpeg failed',
    message: string,
  ) {
    super(message);
    this.name = 'ExportError';
  }
}

export const manifestPathOf = (clip: string) => `${clip}.manifest.json`;

/** concat demuxer script; paths quoted as its syntax requires ('\'' for a quote). */
const quote = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;

export async function exportVideo(opts: { repo: RecordingRepo; camera: string; from: number; to: number; out: string; ffmpegPath?: string; now?: () => number }): Promise<ExportManifest> {
  const { repo, camera, from, to, out } = opts;
  const segs = repo.segments(camera, { start: from, end: to }).filter((s) => s.end_ms > s.start_ms);
  if (!segs.length) throw new ExportError('nothing recorded', `no video of ${camera} between the two times`);
  const sources: ExportSource[] = [];
  let clipMs = 0;
  const lines = ['ffconcat version 1.0'];
  for (const s of segs) {
    if (!fs.existsSync(s.path)) throw new ExportError('source missing', `${s.path} is indexed but not on disk (deleted by retention, or the disk was changed)`);
    const h = await sha256File(s.path);
    if (h.sha256 !== s.sha256)
      throw new ExportError('source changed', `${s.path} differs from what was indexed (SHA-256 ${h.sha256.slice(0, 12)}… instead of ${s.sha256.slice(0, 12)}…): not exported`);
    const inMs = Math.max(0, from - s.start_ms);
    const outMs = Math.min(s.end_ms, to) - s.start_ms;
    lines.push(`file ${quote(s.path)}`);
    if (inMs > 0) lines.push(`inpoint ${(inMs / 1000).toFixed(3)}`);
    if (s.end_ms > to) lines.push(`outpoint ${(outMs / 1000).toFixed(3)}`);
    sources.push({ path: s.path, start: s.start_ms, end: s.end_ms, bytes: h.bytes, sha256: h.sha256, clipOffsetMs: clipMs });
    clipMs += outMs - inMs;
  }
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-export-'));
  const list = path.join(tmpDir, 'list.ffconcat');
  fs.writeFileSync(list, `${lines.join('\n')}\n`);
  const partial = `${out}.partial.mp4`;
  try {
    try {
      // a copy runs at disk speed: a minute per 10 GB is generous
      await runFfmpegToBuffer(['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart', '-y', partial], {
        ffmpegPath: opts.ffmpegPath,
        timeoutMs: 60_000 + sources.reduce((n, x) => n + x.bytes, 0) / 100_000,
      });
    } catch (err) {
      throw new ExportError('ffmpeg failed', (err as Error).message);
    }
    fs.renameSync(partial, out);
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    fs.rmSync(partial, { force: true });
  }
  const clip = await sha256File(out);
  const gaps = repo.coverage(camera, { start: from, end: to }, 0).uncovered.map((u) => ({ start: u.start, end: u.end, reason: u.reason }));
  const manifest: ExportManifest = {
    kind: 'classroom-agent video export',
    version: 1,
    camera,
    from,
    to,
    createdAt: (opts.now ?? Date.now)(),
    clip: { file: path.basename(out), bytes: clip.bytes, sha256: clip.sha256 },
    sources,
    gaps,
  };
  fs.writeFileSync(manifestPathOf(out), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

/** Check an export: the clip and every source still hash as the manifest says. Problems, one per line; empty = verified. */
export async function verifyExport(manifestFile: string): Promise<string[]> {
  const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as ExportManifest;
  const problems: string[] = [];
  const check = async (file: string, sha: string, what: string) => {
    try {
      const h = await sha256File(file);
      if (h.sha256 !== sha) problems.push(`${what} ${file}: SHA-256 ${h.sha256} ≠ ${sha}`);
    } catch (err) {
      problems.push(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  await check(path.join(path.dirname(manifestFile), m.clip.file), m.clip.sha256, 'clip');
  for (const s of m.sources) await check(s.path, s.sha256, 'source');
  return problems;
}
