import { runTool } from '../ffmpeg/run.js';

/** One decoded picture: packed RGB, 3 bytes per pixel, row-major. */
export interface RgbFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Incremental parser of a stream of binary PPM (P6) pictures, the format ffmpeg writes with
 * `-f image2pipe -c:v ppm`: each picture carries its own size, so neither ffprobe nor a guess
 * of the scaled height is needed.
 */
export class PpmParser {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): RgbFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: RgbFrame[] = [];
    for (;;) {
      const h = this.header();
      if (!h) break;
      const size = h.width * h.height * 3;
      if (this.buf.length < h.offset + size) break;
      // copy: the frame outlives this buffer and may be transferred to a worker
      out.push({ width: h.width, height: h.height, data: new Uint8Array(this.buf.subarray(h.offset, h.offset + size)) });
      this.buf = this.buf.subarray(h.offset + size);
    }
    return out;
  }
  private header(): { width: number; height: number; offset: number } | undefined {
    // P6 <ws> width <ws> height <ws> maxval <one ws> data
    const text = this.buf.subarray(0, Math.min(this.buf.length, 64)).toString('latin1');
    const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
    if (!m) {
      if (this.buf.length >= 64 || (this.buf.length >= 2 && !text.startsWith('P6'))) throw new Error('ffmpeg output is not a PPM stream');
      return undefined;
    }
    if (m[3] !== '255') throw new Error(`unsupported PPM maxval ${m[3]}`);
    return { width: Number(m[1]), height: Number(m[2]), offset: m[0].length };
  }
}

/** Where and how long: ffmpeg's binary (config recorder.ffmpegPath) and the limit of a decode. */
export interface DecodeOptions {
  ffmpegPath?: string;
  /** kill ffmpeg when it produces nothing this long while not held paused (default 60 s) */
  idleTimeoutMs?: number;
}

const HEAD = ['-hide_banner', '-loglevel', 'error', '-nostdin'];

/** Run ffmpeg with `args` (which must end in a PPM image2pipe to stdout) and collect the pictures. */
export async function ffmpegFrames(args: string[], o: DecodeOptions = {}): Promise<RgbFrame[]> {
  const parser = new PpmParser();
  const frames: RgbFrame[] = [];
  await runTool('ffmpeg', [...HEAD, ...args], { path: o.ffmpegPath, timeoutMs: 0, idleTimeoutMs: o.idleTimeoutMs ?? 60_000, onStdout: (c) => frames.push(...parser.push(c)) });
  return frames;
}

/** Decode a still photo (JPEG, PNG, ...) to RGB at its own size. */
export async function decodeImage(file: string, ffmpegPath?: string): Promise<RgbFrame> {
  const frames = await ffmpegFrames(['-i', file, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'ppm', '-'], { ffmpegPath });
  if (!frames.length) throw new Error(`${file}: no picture decoded`);
  return frames[0]!;
}

export interface SampledFrame extends RgbFrame {
  /** time of the frame from the start of the segment */
  offsetMs: number;
}

/**
 * Frame i is the picture shown at i × N seconds (N = everySeconds) from the first frame, for every
 * i with i × N ≤ duration − ε. The fps filter alone does not give that: with round=down its frame
 * i is the last picture before (i + 1) × N (a face seen at 4.8 s was stored at offset 0), and at
 * the end it emits floor(duration / N) frames, so a recorder's "10 s" segment that lasts 9.9998 s
 * gave 1 frame instead of 2 and a segment shorter than N none. Shifting the timestamps by N − ε
 * first makes frame i the picture within ε after i × N (or the last before it) and the frame count
 * floor((duration + N − ε) / N): a segment that lasts a hair over k × N gets no extra frame of its
 * final instant (the next segment's first frame shows that moment).
 */
export function sampleFilter(everySeconds: number, width: number): string {
  const eps = Math.min(0.1, everySeconds / 2);
  return `setpts=PTS-STARTPTS+${everySeconds - eps}/TB,fps=1/${everySeconds}:round=down,scale='min(${width},iw)':-2`;
}

const sampleArgs = (file: string, everySeconds: number, width: number) => ['-i', file, '-an', '-vf', sampleFilter(everySeconds, width), '-f', 'image2pipe', '-c:v', 'ppm', '-'];

/**
 * Frames of a recorded segment, one every `everySeconds`, scaled to `width` (never enlarged):
 * frame i is the picture at i × everySeconds from the segment's start (sampleFilter).
 */
export async function sampleVideo(file: string, everySeconds: number, width: number, o: DecodeOptions = {}): Promise<SampledFrame[]> {
  const frames = await ffmpegFrames(sampleArgs(file, everySeconds, width), o);
  return frames.map((f, i) => ({ ...f, offsetMs: Math.round(i * everySeconds * 1000) }));
}

/**
 * The same frames, handed over one at a time with ffmpeg paused while `onFrame` works: a
 * 10-minute segment never sits in memory as 60 decoded pictures. `signal` stops early (resolves).
 */
export async function streamVideo(file: string, everySeconds: number, width: number, onFrame: (f: SampledFrame) => Promise<void>, signal?: AbortSignal, o: DecodeOptions = {}): Promise<number> {
  const parser = new PpmParser();
  let n = 0;
  let failed: Error | undefined;
  let work: Promise<void> = Promise.resolve();
  try {
    await runTool('ffmpeg', [...HEAD, ...sampleArgs(file, everySeconds, width)], {
      path: o.ffmpegPath,
      timeoutMs: 0,
      idleTimeoutMs: o.idleTimeoutMs ?? 60_000,
      signal,
      onStdout: (c, stdout) => {
        if (failed) throw failed;
        const frames = parser.push(c);
        if (!frames.length) return;
        stdout.pause();
        work = work.then(async () => {
          for (const f of frames) {
            if (failed || signal?.aborted) return;
            try {
              await onFrame({ ...f, offsetMs: Math.round(n++ * everySeconds * 1000) });
            } catch (e) {
              failed = e as Error;
            }
          }
          stdout.resume();
        });
      },
    });
  } catch (e) {
    await work;
    if (failed) throw failed;
    if (signal?.aborted) return n;
    throw new Error(`ffmpeg failed on ${file}: ${(e as Error).message}`);
  }
  await work;
  if (failed) throw failed;
  return n;
}

/**
 * The face at `box` (analysed-frame pixels, frame `frameWidth` wide) of the picture at
 * `offsetMs` in a recorded segment, with a quarter of its size around it, as a small JPEG: what
 * a reviewer looks at to check a sighting.
 */
export async function cropFace(file: string, offsetMs: number, frameWidth: number, box: { x: number; y: number; width: number; height: number }, o: DecodeOptions = {}): Promise<Buffer> {
  const pad = Math.round(box.width / 4);
  const x = Math.max(0, Math.round(box.x) - pad);
  const y = Math.max(0, Math.round(box.y) - pad);
  const w = Math.round(box.width) + 2 * pad;
  const h = Math.round(box.height) + 2 * pad;
  const vf = `scale='min(${frameWidth},iw)':-2,crop=min(${w}\\,iw-${x}):min(${h}\\,ih-${y}):${x}:${y}`;
  return runTool('ffmpeg', [...HEAD, '-ss', (offsetMs / 1000).toFixed(3), '-i', file, '-frames:v', '1', '-vf', vf, '-q:v', '5', '-f', 'image2pipe', '-c:v', 'mjpeg', '-'], {
    path: o.ffmpegPath,
    timeoutMs: 30_000,
  });
}
