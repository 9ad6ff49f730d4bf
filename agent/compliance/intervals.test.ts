import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clip, complement, covers, coversSorted, longestContinuous, measure, union, type Interval } from './intervals.js';

const arbInterval = fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 500 })).map(([s, len]): Interval => ({ start: s, end: s + len }));
const arbList = fc.array(arbInterval, { maxLength: 40 });
const arbWindow = fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 3_000 })).map(([s, len]): Interval => ({ start: s, end: s + len }));

describe('intervals', () => {
  it('merges touching and overlapping intervals, keeps gaps', () => {
    expect(
      union([
        { start: 0, end: 10 },
        { start: 10, end: 20 },
        { start: 25, end: 30 },
      ]),
    ).toEqual([
      { start: 0, end: 20 },
      { start: 25, end: 30 },
    ]);
  });
  it('merges within tolerance, exactly at it, not above', () => {
    const a = { start: 0, end: 10 };
    expect(union([a, { start: 12, end: 20 }], 2)).toEqual([{ start: 0, end: 20 }]);
    expect(union([a, { start: 13, end: 20 }], 2)).toHaveLength(2);
  });
  it('clips half-open windows', () => {
    expect(clip([{ start: 0, end: 10 }], { start: 10, end: 20 })).toEqual([]);
    expect(clip([{ start: 5, end: 15 }], { start: 10, end: 20 })).toEqual([{ start: 10, end: 15 }]);
  });
  it('covers is half-open', () => {
    expect(covers([{ start: 0, end: 10 }], 0)).toBe(true);
    expect(covers([{ start: 0, end: 10 }], 10)).toBe(false);
  });
  it('longest continuous stretch bridges small gaps and is clipped to the window', () => {
    const segs = [
      { start: 0, end: 60 },
      { start: 61, end: 120 },
      { start: 130, end: 200 },
    ];
    expect(longestContinuous(segs, { start: 0, end: 1000 }, 2)).toBe(120);
    expect(longestContinuous(segs, { start: 100, end: 1000 }, 2)).toBe(70);
  });

  it('property: union is sorted, disjoint, separated by more than the tolerance', () => {
    fc.assert(
      fc.property(arbList, fc.integer({ min: 0, max: 50 }), (list, tol) => {
        const u = union(list, tol);
        for (let k = 1; k < u.length; k++) expect(u[k].start - u[k - 1].end).toBeGreaterThan(tol);
        for (const i of u) expect(i.end).toBeGreaterThan(i.start);
      }),
    );
  });
  it('property: union (tolerance 0) covers exactly the points the inputs cover', () => {
    fc.assert(
      fc.property(arbList, fc.integer({ min: -10, max: 11_000 }), (list, t) => {
        expect(covers(union(list), t)).toBe(covers(list, t));
        expect(coversSorted(union(list), t)).toBe(covers(list, t));
      }),
    );
  });
  it('property: measure + measure(complement) = window length; measure is bounded', () => {
    fc.assert(
      fc.property(arbList, arbWindow, (list, w) => {
        const inside = measure(clip(list, w));
        expect(inside + measure(complement(list, w))).toBe(w.end - w.start);
        expect(inside).toBeLessThanOrEqual(list.reduce((s, i) => s + i.end - i.start, 0));
      }),
    );
  });
  it('property: union is idempotent and order-independent', () => {
    fc.assert(
      fc.property(arbList, fc.integer({ min: 0, max: 20 }), (list, tol) => {
        const u = union(list, tol);
        expect(union(u, tol)).toEqual(u);
        expect(union([...list].reverse(), tol)).toEqual(u);
      }),
    );
  });
  it('property: longest continuous ≤ window and ≥ any single clipped interval', () => {
    fc.assert(
      fc.property(arbList, arbWindow, fc.integer({ min: 0, max: 20 }), (list, w, tol) => {
        const l = longestContinuous(list, w, tol);
        expect(l).toBeLessThanOrEqual(w.end - w.start);
        for (const i of clip(list, w)) expect(l).toBeGreaterThanOrEqual(i.end - i.start);
        if (tol === 0) expect(l).toBeLessThanOrEqual(measure(clip(list, w)));
      }),
    );
  });
});
