import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { locate } from '../ffmpeg/locate.js';
import { PpmParser, sampleVideo, streamVideo, type RgbFrame } from './frames.js';

const ppm = (w: number, h: number, fill: number) => Buffer.concat([Buffer.from(`P6\n${w} ${h}\n255\n`), Buffer.alloc(w * h * 3, fill)]);

describe('PPM stream parser (ffmpeg image2pipe)', () => {
  it('splits pictures across arbitrary chunk boundaries', () => {
    const stream = Buffer.concat([ppm(3, 2, 1), ppm(4, 1, 2), ppm(2, 2, 3)]);
    for (const step of [1, 5, 17, stream.length]) {
      const p = new PpmParser();
      const out = [];
      for (let i = 0; i < stream.length; i += step) out.push(...p.push(stream.subarray(i, i + step)));
      expect(out.map((f) => [f.width, f.height, f.data.length, f.data[0]])).toEqual([
        [3, 2, 18, 1],
        [4, 1, 12, 2],
        [2, 2, 12, 3],
      ]);
    }
  });

  it('rejects something that is not PPM', () => {
    expect(() => new PpmParser().push(Buffer.from('GIF89a....'))).toThrow(/not a PPM/);
  });
});

describe('sampling a segment every N seconds', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-frames-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** `n` frames at `fps`, frame k a flat grey of level 16 + 4k (lossless), timestamps × `stretch`, as MP4 */
  const clip = (name: string, fps: number, n: number, stretch = 1) => {
    const file = path.join(dir, `${name}.mp4`);
    execFileSync(locate('ffmpeg'), [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `color=c=black:s=32x32:r=${fps},format=yuv444p,geq=lum='16+N*4':cb=128:cr=128`,
      '-frames:v',
      String(n),
      '-vf',
      `settb=1/100000,setpts=PTS*${stretch}`,
      '-vsync',
      'passthrough',
      '-enc_time_base',
      '1/100000',
      '-video_track_timescale',
      '100000',
      '-c:v',
      'libx264',
      '-qp',
      '0',
      '-pix_fmt',
      'yuv444p',
      file,
    ]);
    return file;
  };
  /** which frame of the clip a sampled picture is (grey level back from full-range RGB) */
  const index = (f: RgbFrame) => Math.round((f.data[0]! * 219) / 255 / 4);

  it('takes the picture at i × N, also when the segment is a hair short of k × N', async () => {
    // a recorder's "10 s" segment that lasts 9.999 s: frames at 0 and 5 s (the fps filter alone gave one, of 4.8 s)
    const short = await sampleVideo(clip('short', 5, 50, 0.9999), 5, 1920);
    expect(short.map(index)).toEqual([0, 25]);
    expect(short.map((f) => f.offsetMs)).toEqual([0, 5000]);
    // a hair over: no third frame of the segment's last instant
    expect((await sampleVideo(clip('long', 5, 50, 1.00002), 5, 1920)).map(index)).toEqual([0, 25]);
    // a segment shorter than N (the camera dropped, the daemon stopped) still gives its first frame
    expect((await sampleVideo(clip('stub', 5, 19), 5, 1920)).map(index)).toEqual([0]);
    // a picture per second at 1 fps: every picture, in order
    expect((await sampleVideo(clip('slow', 1, 12), 1, 1920)).map(index)).toEqual([...Array(12).keys()]);
  });

  it('streams the same frames as it samples', async () => {
    const file = clip('stream', 5, 60);
    const got: number[][] = [];
    await streamVideo(file, 5, 1920, async (f) => void got.push([index(f), f.offsetMs]));
    expect(got).toEqual([
      [0, 0],
      [25, 5000],
      [50, 10000],
    ]);
  });
});
