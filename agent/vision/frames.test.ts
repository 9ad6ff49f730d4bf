import { describe, expect, it } from 'vitest';
import { PpmParser } from './frames.js';

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
