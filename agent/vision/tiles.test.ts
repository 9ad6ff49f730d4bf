import { describe, expect, it } from 'vitest';
import { iou, mergeBoxes, PIECE_AREA, piecesOf } from './engine.js';

describe('pieces of the tiled search and merged boxes', () => {
  it("covers a frame with pieces sharing at least the overlap, at the tiles' scale, in the fewest input pixels", () => {
    const t = piecesOf(1920, 1080, 640, 160);
    expect(t.length).toBe(6); // 3 columns × 2 rows of 747 × 620 frame px: 608 × 496 at 0.8×
    expect(t[1]).toEqual({ x: 587, y: 0, w: 747, h: 620 });
    for (const area of [512 * 512, PIECE_AREA, 832 * 512, 1536 * 864]) {
      const p = piecesOf(1920, 1080, 640, 160, area);
      // every pixel covered; neighbours share ≥ 160 px; inside the frame
      for (const [len, key, size] of [
        [1920, 'x', 'w'],
        [1080, 'y', 'h'],
      ] as const) {
        const starts = [...new Set(p.map((x) => x[key]))].sort((a, b) => a - b);
        const side = p[0]![size];
        expect(starts[0]).toBe(0);
        expect(starts.at(-1)! + side).toBe(len);
        for (let i = 1; i < starts.length; i++) expect(starts[i - 1]! + side - starts[i]!).toBeGreaterThanOrEqual(160);
      }
      for (const x of p) expect(Math.ceil((x.w * 0.8) / 16) * 16 * Math.ceil((x.h * 0.8) / 16) * 16).toBeLessThanOrEqual(area);
    }
    // the area of a 640 px tile allows 8 pieces; 832 × 512, four; a whole 1536 × 864 input, one
    expect(piecesOf(1920, 1080, 640, 160, 512 * 512).length).toBe(8);
    expect(piecesOf(1920, 1080, 640, 160, 832 * 512).length).toBe(4);
    expect(piecesOf(1920, 1080, 640, 160, 1536 * 864)).toEqual([{ x: 0, y: 0, w: 1920, h: 1080 }]);
    // 720p: three pieces where there were six tiles
    expect(piecesOf(1280, 720, 640, 160).length).toBe(3);
    expect(piecesOf(640, 480, 640, 160)).toEqual([]);
    expect(piecesOf(1920, 1080, 0, 160)).toEqual([]);
  });

  it('keeps the best of overlapping boxes and a face cut by a tile edge is dropped for the whole one', () => {
    const whole = { box: { x: 100, y: 100, width: 40, height: 50 }, score: 0.9 };
    const again = { box: { x: 102, y: 99, width: 41, height: 50 }, score: 0.8 };
    const cut = { box: { x: 100, y: 100, width: 18, height: 50 }, score: 0.95 };
    const other = { box: { x: 300, y: 100, width: 40, height: 50 }, score: 0.6 };
    expect(iou(whole.box, again.box)).toBeGreaterThan(0.8);
    expect(mergeBoxes([again, other, whole])).toEqual([whole, other]);
    // the cut box scores higher but lies inside the whole one: one face, not two
    expect(mergeBoxes([whole, cut, other])).toEqual([whole, other]);
  });
});
