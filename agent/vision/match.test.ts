import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { euclidean, matchFrame, matchOne, type GalleryEntry } from './match.js';

const vec = (...xs: number[]) => Float32Array.from([...xs, ...Array(128 - xs.length).fill(0)]);
const opts = { threshold: 0.4, margin: 0.08 };

describe('matching against a roster', () => {
  const gallery: GalleryEntry[] = [
    { trainee: 'A', descriptor: vec(0) },
    { trainee: 'A', descriptor: vec(0.9) }, // an odd enrollment photo: the minimum ignores it, a mean would not
    { trainee: 'B', descriptor: vec(1) },
  ];

  it('uses the minimum distance per trainee', () => {
    const m = matchOne(vec(0.1), gallery, opts);
    expect(m.trainee).toBe('A');
    expect(m.distance).toBeCloseTo(0.1, 5);
  });

  it('says unknown above the threshold', () => {
    expect(matchOne(vec(0, 0.5), [{ trainee: 'A', descriptor: vec(0) }], opts).trainee).toBeNull();
  });

  it('says unknown when the second-best is too close (margin)', () => {
    const g: GalleryEntry[] = [
      { trainee: 'A', descriptor: vec(0) },
      { trainee: 'B', descriptor: vec(0.1) },
    ];
    const m = matchOne(vec(0.04), g, opts);
    expect(m.trainee).toBeNull();
    expect(m.nearest).toBe('A');
  });

  it('gives one identity to one face per frame', () => {
    const r = matchFrame([vec(0.05), vec(0.02)], gallery, opts);
    expect(r.map((m) => m.trainee)).toEqual([null, 'A']);
  });

  it('never matches with an empty gallery', () => {
    expect(matchOne(vec(0), [], opts).trainee).toBeNull();
  });

  it('property: an accepted match is under the threshold with at least the margin, and is the nearest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.constantFrom('A', 'B', 'C'), x: fc.float({ min: -1, max: 1, noNaN: true }), y: fc.float({ min: -1, max: 1, noNaN: true }) }), { maxLength: 8 }),
        fc.float({ min: -1, max: 1, noNaN: true }),
        fc.float({ min: -1, max: 1, noNaN: true }),
        (entries, x, y) => {
          const g = entries.map((e) => ({ trainee: e.t, descriptor: vec(e.x, e.y) }));
          const q = vec(x, y);
          const m = matchOne(q, g, opts);
          if (!m.trainee) return;
          expect(m.distance).toBeLessThan(opts.threshold);
          expect(m.margin).toBeGreaterThanOrEqual(opts.margin);
          for (const e of g) if (e.trainee !== m.trainee) expect(euclidean(q, e.descriptor)).toBeGreaterThanOrEqual(m.distance + opts.margin - 1e-6);
        },
      ),
    );
  });
});
