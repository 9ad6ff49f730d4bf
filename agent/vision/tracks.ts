import { iou, type Box } from './engine.js';
import { euclidean, matchOne, type GalleryEntry, type MatchOptions } from './match.js';

/**
 * Tracks: the same face followed across the sampled frames of a camera, within a segment and
 * into the next one. Trainees sit still for most of a lesson, so a face in frame i and a face
 * at nearly the same place in frame i + 1 are the same person unless their descriptors say
 * otherwise. A track is identified from its best frames: when at least `minFrames` of its
 * frames match one trainee and none matches another; then every frame of the track where the
 * face could be described counts for that trainee, including frames where the face alone was
 * just over the threshold (turned, blurred, dimmed). A track whose frames name two trainees
 * names nobody: a wrong identity costs more than "not seen".
 */
export interface TrackFace {
  box: Box;
  descriptor?: Float32Array;
}
export interface TrackFrame {
  offsetMs: number;
  faces: TrackFace[];
}
/** A track still open at the end of a segment: carried into the camera's next segment. */
export interface OpenTrack {
  id: string;
  box: Box;
  descriptor?: Float32Array;
  /** trainee → frames of the track that matched them on their own */
  votes: Map<string, number>;
}
export interface Attribution {
  trainee: string;
  track: string;
  /** this face's own distance to the trainee, and the margin to the next trainee */
  distance: number;
  margin: number;
  /** frames of the track that matched the trainee on their own */
  agreeing: number;
}
export interface TrackOptions extends MatchOptions {
  /** frames of a track that must match a trainee before the whole track is theirs */
  minFrames: number;
  /** smallest IoU of boxes in consecutive frames to continue a track */
  minIou?: number;
  /** descriptors further apart than this are different people, however well the boxes line up */
  maxLinkDistance?: number;
}

/**
 * Link each frame's faces to the tracks of the previous frame (greedy, best IoU first).
 * Returns the track id of every face.
 */
function link(prev: { id: string; box: Box; descriptor?: Float32Array }[], faces: TrackFace[], o: TrackOptions, newId: () => string): string[] {
  const pairs: { i: number; j: number; v: number }[] = [];
  faces.forEach((f, j) =>
    prev.forEach((p, i) => {
      const v = iou(p.box, f.box);
      if (v < (o.minIou ?? 0.3)) return;
      if (p.descriptor && f.descriptor && euclidean(p.descriptor, f.descriptor) > (o.maxLinkDistance ?? 0.6)) return;
      pairs.push({ i, j, v });
    }),
  );
  pairs.sort((a, b) => b.v - a.v);
  const ids: (string | undefined)[] = faces.map(() => undefined);
  const used = new Set<number>();
  for (const p of pairs) {
    if (used.has(p.i) || ids[p.j]) continue;
    used.add(p.i);
    ids[p.j] = prev[p.i]!.id;
  }
  return ids.map((id) => id ?? newId());
}

/**
 * Follow the faces of a segment's frames (in time order), starting from the camera's tracks
 * still open at the end of its previous segment. Returns, per frame, the attribution of each
 * face (or null), and the tracks open at the last frame.
 */
export function trackSegment(
  frames: readonly TrackFrame[],
  gallery: readonly GalleryEntry[],
  o: TrackOptions,
  open: readonly OpenTrack[] = [],
  newId: () => string = counter(),
): { attributions: (Attribution | null)[][]; open: OpenTrack[] } {
  const ids: string[][] = [];
  const own: ReturnType<typeof matchOne>[][] = [];
  const votes = new Map<string, Map<string, number>>(open.map((t) => [t.id, new Map(t.votes)]));
  let prev: { id: string; box: Box; descriptor?: Float32Array }[] = open.map((t) => ({ id: t.id, box: t.box, descriptor: t.descriptor }));
  const last = new Map<string, { box: Box; descriptor?: Float32Array }>();
  for (const f of frames) {
    const fid = link(prev, f.faces, o, newId);
    ids.push(fid);
    const m = f.faces.map((x) => (x.descriptor ? matchOne(x.descriptor, gallery, o) : null));
    own.push(m as never);
    m.forEach((x, j) => {
      const id = fid[j]!;
      if (!votes.has(id)) votes.set(id, new Map());
      if (x?.trainee) votes.get(id)!.set(x.trainee, (votes.get(id)!.get(x.trainee) ?? 0) + 1);
    });
    // a face carries its descriptor forward; a face without one keeps its track's last descriptor
    prev = f.faces.map((x, j) => ({ id: fid[j]!, box: x.box, descriptor: x.descriptor ?? last.get(fid[j]!)?.descriptor }));
    for (const p of prev) last.set(p.id, { box: p.box, descriptor: p.descriptor });
  }
  const identity = (id: string): { trainee: string; agreeing: number } | null => {
    const v = votes.get(id);
    if (!v || v.size !== 1) return null; // nobody, or two trainees: nobody
    const [trainee, agreeing] = [...v.entries()][0]!;
    return { trainee, agreeing };
  };
  const attributions = frames.map((f, i) => {
    const row = f.faces.map((x, j): Attribution | null => {
      if (!x.descriptor) return null; // too small to identify: counted, never named
      const id = ids[i]![j]!;
      const who = identity(id);
      if (!who) return null;
      const mine = own[i]![j]!;
      if (who.agreeing >= o.minFrames || mine?.trainee === who.trainee) {
        // this face's own distance to the track's trainee: the reviewer sees how far it was
        const d = distanceTo(x.descriptor, gallery, who.trainee);
        return { trainee: who.trainee, track: id, distance: d.distance, margin: d.margin, agreeing: who.agreeing };
      }
      return null;
    });
    // one person, one seat: two faces of a frame given one trainee keep the closer only
    const best = new Map<string, number>();
    row.forEach((a, j) => {
      if (!a) return;
      const k = best.get(a.trainee);
      if (k === undefined || a.distance < row[k]!.distance) best.set(a.trainee, j);
    });
    return row.map((a, j) => (a && best.get(a.trainee) === j ? a : null));
  });
  const lastIds = new Set(ids.at(-1) ?? []);
  const openOut: OpenTrack[] = frames.length ? [...lastIds].map((id) => ({ id, box: last.get(id)!.box, descriptor: last.get(id)!.descriptor, votes: votes.get(id) ?? new Map() })) : [...open];
  return { attributions, open: openOut };
}

/** Distance of a descriptor to one trainee (minimum over their photos) and the margin to the next trainee. */
function distanceTo(d: Float32Array, gallery: readonly GalleryEntry[], trainee: string): { distance: number; margin: number } {
  let mine = Infinity;
  let other = Infinity;
  for (const g of gallery) {
    const x = euclidean(d, g.descriptor);
    if (g.trainee === trainee) mine = Math.min(mine, x);
    else other = Math.min(other, x);
  }
  return { distance: mine, margin: Number.isFinite(other) ? other - mine : 1 };
}

function counter(): () => string {
  let n = 0;
  return () => `t${++n}`;
}
