import { describe, expect, it } from 'vitest';
import type { GalleryEntry } from './match.js';
import { trackSegment, type TrackFrame } from './tracks.js';

const vec = (...xs: number[]) => Float32Array.from([...xs, ...Array(128 - xs.length).fill(0)]);
const gallery: GalleryEntry[] = [
  { trainee: 'A', descriptor: vec(0) },
  { trainee: 'B', descriptor: vec(1) },
];
const o = { threshold: 0.4, margin: 0.08, minFrames: 2 };
const at = (x: number) => ({ x, y: 100, width: 60, height: 70 });

describe('tracks', () => {
  it('identifies a still face from its best frames and credits the frames just over the threshold', () => {
    // A sits at x=100: frames 0 and 2 match on their own (0.1, 0.2), frames 1 and 3 are at 0.45 (turned head)
    const frames: TrackFrame[] = [0.1, 0.45, 0.2, 0.45].map((d, i) => ({ offsetMs: i * 10_000, faces: [{ box: at(100 + i * 3), descriptor: vec(d) }] }));
    const r = trackSegment(frames, gallery, o);
    expect(r.attributions.map((row) => row[0]?.trainee ?? null)).toEqual(['A', 'A', 'A', 'A']);
    expect(r.attributions[1]![0]!.distance).toBeCloseTo(0.45, 5);
    expect(r.attributions[1]![0]!.agreeing).toBe(2);
    expect(new Set(r.attributions.map((row) => row[0]!.track)).size).toBe(1);
  });

  it('does not credit a track with one matching frame beyond that frame (K-frame agreement)', () => {
    const frames: TrackFrame[] = [0.1, 0.45, 0.45].map((d, i) => ({ offsetMs: i * 10_000, faces: [{ box: at(100), descriptor: vec(d) }] }));
    expect(trackSegment(frames, gallery, o).attributions.map((row) => row[0]?.trainee ?? null)).toEqual(['A', null, null]);
  });

  it('names nobody when the frames of a track name two trainees', () => {
    const frames: TrackFrame[] = [0.1, 0.15, 0.9, 0.95].map((d, i) => ({ offsetMs: i * 10_000, faces: [{ box: at(100), descriptor: vec(d) }] }));
    // descriptors 0.15 → 0.9 are 0.75 apart: not linked (different people in the same seat)
    const r = trackSegment(frames, gallery, { ...o, maxLinkDistance: 0.8 });
    expect(r.attributions.map((row) => row[0]?.trainee ?? null)).toEqual([null, null, null, null]);
  });

  it('splits a track when the descriptors say a different person sat down', () => {
    const frames: TrackFrame[] = [0.1, 0.15, 0.9, 0.95].map((d, i) => ({ offsetMs: i * 10_000, faces: [{ box: at(100), descriptor: vec(d) }] }));
    const r = trackSegment(frames, gallery, o);
    expect(r.attributions.map((row) => row[0]?.trainee ?? null)).toEqual(['A', 'A', 'B', 'B']);
    expect(r.attributions[0]![0]!.track).not.toBe(r.attributions[2]![0]!.track);
  });

  it('carries tracks into the next segment: a trainee identified before is credited at once', () => {
    const first = trackSegment(
      [0.1, 0.2].map((d, i) => ({ offsetMs: i * 10_000, faces: [{ box: at(100), descriptor: vec(d) }] })),
      gallery,
      o,
    );
    expect(first.open).toHaveLength(1);
    const next = trackSegment(
      [
        {
          offsetMs: 0,
          faces: [
            { box: at(104), descriptor: vec(0.45) },
            { box: at(600), descriptor: vec(0.45) },
          ],
        },
      ],
      gallery,
      o,
      first.open,
      () => 'new',
    );
    expect(next.attributions[0]!.map((a) => a?.trainee ?? null)).toEqual(['A', null]);
    expect(next.attributions[0]![0]!.track).toBe(first.open[0]!.id);
  });

  it('never names a face too small to describe, and one trainee holds one seat per frame', () => {
    const frames: TrackFrame[] = [0, 1].map((i) => ({
      offsetMs: i * 10_000,
      faces: [{ box: at(100), descriptor: vec(0.1) }, { box: at(400), descriptor: vec(0.2) }, { box: { x: 900, y: 100, width: 30, height: 35 } }],
    }));
    const r = trackSegment(frames, gallery, o);
    for (const row of r.attributions) expect(row.map((a) => a?.trainee ?? null)).toEqual(['A', null, null]);
  });
});
