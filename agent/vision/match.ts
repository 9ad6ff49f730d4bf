/**
 * Open-set matching against a small closed gallery (the roster of the class whose lesson is
 * on). Rules (docs/vision.md): the distance to a trainee is the MINIMUM over their
 * descriptors (a mean is dragged by one odd enrollment photo); accept only when the best
 * distance is under the threshold AND the second-best trainee is at least `margin` further;
 * otherwise "unknown". A wrong identity costs more than "not seen".
 */
export interface GalleryEntry {
  trainee: string;
  descriptor: Float32Array;
}
export interface MatchOptions {
  threshold: number;
  margin: number;
}
export interface Match {
  trainee: string | null;
  /** best distance (to `trainee` when matched, else to the nearest trainee) */
  distance: number;
  /** second-best minus best; 1 when the gallery holds one trainee only */
  margin: number;
  nearest: string | null;
}

export function euclidean(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

export function matchOne(d: Float32Array, gallery: readonly GalleryEntry[], o: MatchOptions): Match {
  const best = new Map<string, number>();
  for (const g of gallery) {
    const dist = euclidean(d, g.descriptor);
    if (dist < (best.get(g.trainee) ?? Infinity)) best.set(g.trainee, dist);
  }
  const ranked = [...best.entries()].sort((a, b) => a[1] - b[1]);
  const first = ranked[0];
  if (!first) return { trainee: null, distance: Infinity, margin: 0, nearest: null };
  const margin = ranked[1] ? ranked[1][1] - first[1] : 1;
  const ok = first[1] < o.threshold && margin >= o.margin;
  return { trainee: ok ? first[0] : null, distance: first[1], margin, nearest: first[0] };
}

/**
 * Match every face of one frame. One person cannot sit in two seats: when two faces match the
 * same trainee, only the closer keeps the identity and the other becomes unknown. A face
 * without a descriptor (`undefined`: too small to identify) is unknown.
 */
export function matchFrame(descriptors: readonly (Float32Array | undefined)[], gallery: readonly GalleryEntry[], o: MatchOptions): Match[] {
  // a face without a descriptor (too small to identify) stays unknown: never guessed
  const res = descriptors.map((d): Match => (d ? matchOne(d, gallery, o) : { trainee: null, distance: Infinity, margin: 0, nearest: null }));
  const byTrainee = new Map<string, number>();
  res.forEach((m, i) => {
    if (!m.trainee) return;
    const j = byTrainee.get(m.trainee);
    if (j === undefined) byTrainee.set(m.trainee, i);
    else if (m.distance < res[j]!.distance) {
      res[j] = { ...res[j]!, trainee: null };
      byTrainee.set(m.trainee, i);
    } else res[i] = { ...m, trainee: null };
  });
  return res;
}

/** Distances between different trainees' descriptors and within each trainee's own (calibration). */
export function distanceStats(gallery: readonly GalleryEntry[]) {
  const between: number[] = [];
  const within: number[] = [];
  for (let i = 0; i < gallery.length; i++) {
    for (let j = i + 1; j < gallery.length; j++) {
      const d = euclidean(gallery[i]!.descriptor, gallery[j]!.descriptor);
      (gallery[i]!.trainee === gallery[j]!.trainee ? within : between).push(d);
    }
  }
  between.sort((a, b) => a - b);
  within.sort((a, b) => a - b);
  return { between, within };
}
