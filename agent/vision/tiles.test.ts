import { describe, expect, it } from 'vitest';
import { iou, mergeBoxes, tilesOf } from './engine.js';

describe('tiles and merged boxes', () => {
  it('covers a 1080p frame with tiles sharing at least the overlap', () => {
    const t = tilesOf(1920, 1080, 640, 160);
    expect(t.length).toBe(8); // 4 columns × 2 rows
    for (const x of t) {
      expect(x.x + x.w).toBeLessThanOrEqual(1920);
      expect(x.y + x.h).toBeLessThanOrEqual(1080);
    }
    // every pixel covered; neighbours share ≥ 160 px
    const xs = [...new Set(t.map((x) => x.x))].sort((a, b) => a - b);
    expect(xs[0]).toBe(0);
    expect(xs.at(-1)! + 640).toBe(1920);
    for (let i = 1; i < xs.length; i++) expect(xs[i - 1]! + 640 - xs[i]!).toBeGreaterThanOrEqual(160);
    expect(tilesOf(640, 480, 640, 160)).toEqual([]);
    expect(tilesOf(1920, 1080, 0, 160)).toEqual([]);
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
