import type { Loaded } from './tf.js';
import type { RgbFrame } from './frames.js';
import { locateFaces, resizeRegion, scratch, SSD_SIZE, STRIDE } from './ssd.js';
import { focusLost, sceneChanged, type FramePlan } from './focus.js';
import { locateInMosaic, mosaicCells } from './mosaic.js';
import { recognize } from './recognition.js';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface FaceFound {
  box: Box;
  score: number;
  /**
   * 128-d face descriptor; stays inside the box (never logged, never sent). Absent when the
   * face is narrower than `minFaceSize`: counted in the headcount, never identified.
   */
  descriptor?: Float32Array;
}

export interface DetectOptions {
  minConfidence: number;
  /** faces narrower than this (pixels of the analysed frame) get no descriptor: too few pixels to tell people apart */
  minFaceSize: number;
  /**
   * Side of the square tiles the frame is also searched in (0: the whole frame only). SSD
   * MobileNet looks at 512 × 512: a whole 1080p frame is shrunk 3.75×, so a 40 px back-row
   * face arrives as 11 px and is missed; a 640 px tile shrinks it only 1.25×.
   */
  tileSize?: number;
  /** overlap of neighbouring tiles, pixels: every face up to this wide lies whole in some tile */
  tileOverlap?: number;
  /** input pixels a piece of the tiled search may have (PIECE_AREA; the benches try others) */
  pieceArea?: number;
}

/** Intersection over union of two boxes. */
export function iou(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Share of the smaller box covered by the larger (a face cut by a tile edge lies inside the whole face's box). */
function containment(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const small = Math.min(a.width * a.height, b.width * b.height);
  return small > 0 ? inter / small : 0;
}

/**
 * Non-maximum suppression over detections from the whole frame and the tiles: best score
 * first, a box dropped when it overlaps a kept one (IoU ≥ `maxIou`) or lies mostly inside it.
 * When a kept box lies mostly inside a clearly larger one (a face cut by a tile's edge, found
 * whole elsewhere), the whole face replaces it, whatever the scores: the descriptor needs the
 * whole face.
 */
export function mergeBoxes<T extends { box: Box; score: number }>(found: readonly T[], maxIou = 0.3): T[] {
  const kept: T[] = [];
  const area = (b: Box) => b.width * b.height;
  for (const f of [...found].sort((a, b) => b.score - a.score)) {
    const i = kept.findIndex((k) => iou(k.box, f.box) >= maxIou || containment(k.box, f.box) >= 0.6);
    if (i < 0) kept.push(f);
    else if (area(f.box) > 1.5 * area(kept[i]!.box) && containment(kept[i]!.box, f.box) >= 0.6) kept[i] = f;
  }
  return kept;
}

/**
 * Input pixels a piece of the tiled search may have: 1.2 × a 512 × 512 input (a 1080p frame at
 * 0.8×: six pieces of 747 × 620 frame px, 608 × 496 input px, where there were eight 640 px
 * tiles). Larger pieces waste less on overlap, but the wasm heap, which never shrinks, must hold
 * a pass's first layers (96 channels of float32 at half the input's side: 29 MB for 608 × 496,
 * 40 MB for 832 × 496, 127 MB for the whole frame in one 1536 × 864 pass). Measured
 * (docs/vision.md, CPU and peak RSS per 1080p frame of the accuracy classroom, same run): 8 tiles
 * 2,505-2,753 ms, 331 MB; 6 pieces 2,172-2,193 ms, 324-341 MB; 4 pieces (1.6×) 1,924-2,225 ms but
 * 333-365 MB, over the 350 MB a vision thread may take; one pass 1,867 ms, 504 MB.
 */
export const PIECE_AREA = Math.round(1.2 * 512 * 512);

/**
 * The pieces of the tiled search: regions covering a width × height frame, neighbours sharing at
 * least `overlap` pixels (every face up to that wide lies whole in one of them), each seen at the
 * scale of a `size` px tile shown to the SSD as 512 px (512 / size). A piece need not be square
 * (the SSD is fully convolutional; ssd.ts lays its anchors on any input): of the grids whose
 * pieces fit `maxArea` input pixels, the one with the fewest pixels in all, then the fewest pieces.
 * None when the whole-frame pass already sees the frame at that scale or larger.
 */
export function piecesOf(width: number, height: number, size: number, overlap: number, maxArea = PIECE_AREA): { x: number; y: number; w: number; h: number }[] {
  if (size <= 0 || (width <= size && height <= size)) return [];
  const scale = SSD_SIZE / size;
  const side = (len: number, n: number) => Math.ceil((len + (n - 1) * overlap) / n);
  const input = (px: number) => Math.ceil((px * scale) / STRIDE) * STRIDE;
  let best: { cols: number; rows: number; total: number } | undefined;
  for (let cols = 1; cols <= 16; cols++)
    for (let rows = 1; rows <= 16; rows++) {
      const [pw, ph] = [side(width, cols), side(height, rows)];
      if ((cols > 1 && pw <= overlap) || (rows > 1 && ph <= overlap)) continue;
      const area = input(Math.min(pw, width)) * input(Math.min(ph, height));
      if (area > maxArea) continue;
      const total = area * cols * rows;
      if (!best || total < best.total || (total === best.total && cols * rows < best.cols * best.rows)) best = { cols, rows, total };
    }
  if (!best) return piecesOf(width, height, size, overlap, Infinity); // a piece smaller than the cap cannot hold the overlap: the fewest pixels
  const starts = (len: number, n: number, piece: number) => Array.from({ length: n }, (_, i) => (n > 1 ? Math.round((i * (len - piece)) / (n - 1)) : 0));
  const [pw, ph] = [Math.min(width, side(width, best.cols)), Math.min(height, side(height, best.rows))];
  const out: { x: number; y: number; w: number; h: number }[] = [];
  for (const y of starts(height, best.rows, ph)) for (const x of starts(width, best.cols, pw)) out.push({ x, y, w: pw, h: ph });
  return out;
}

/**
 * One frame through face-api: SSD detection on the whole frame and on overlapping tiles,
 * merged (NMS); then 68-point landmarks (alignment) and a descriptor for every face at least
 * `minFaceSize` wide. Every face is returned, so the headcount counts the small ones too.
 *
 * Memory: the frame never becomes one tensor. Each detection gets its region shrunk to 512 ×
 * 512 in JS (ssd.ts), and each face its own crop with a face's width of margin on every side
 * (the landmarks' aligned box lies inside it; near the frame's edge both are clipped by the
 * frame alike), so the wasm heap, which never shrinks, holds a few MB of input instead of a
 * 1080p frame's 25 MB int32 tensor, its float32 cast and face-api's 1920 × 1920 padded copy.
 * Every tensor made here is disposed before returning (the numTensors test and the soak bench).
 */
export async function detectFaces(l: Loaded, frame: RgbFrame, o: DetectOptions): Promise<FaceFound[]> {
  return (await analyzeFrame(l, frame, o, { full: true })).faces;
}

/**
 * detectFaces under a plan (focus.ts): `full`, the whole frame and every tile; otherwise the
 * whole frame and the mosaic of the regions around the plan's focus faces (mosaic.ts), unless
 * the scene changed: the whole frame's faces no longer line up with the previous frame's, or
 * most focus regions came back empty; then the tiles after all. Returns what ran (`full`) and the whole-frame pass's boxes, for the planner.
 */
export async function analyzeFrame(l: Loaded, frame: RgbFrame, o: DetectOptions, plan: FramePlan): Promise<{ faces: FaceFound[]; full: boolean; whole: Box[] }> {
  const { faceapi, tf } = l;
  const found: { box: Box; score: number }[] = locateFaces(l, frame, { x: 0, y: 0, w: frame.width, h: frame.height }, o.minConfidence);
  const whole = found.map((f) => f.box);
  let full = plan.full || sceneChanged(plan.previous, whole);
  if (!plan.full && !full && o.tileSize && plan.focus.length) {
    const m = locateInMosaic(l, frame, mosaicCells(plan.focus, frame.width, frame.height, o.tileSize), o.minConfidence);
    if (focusLost(plan.focus, [...whole, ...m.map((d) => d.box)])) full = true;
    else found.push(...m);
  }
  if (full && o.tileSize)
    for (const t of piecesOf(frame.width, frame.height, o.tileSize, o.tileOverlap ?? 128, o.pieceArea)) found.push(...locateFaces(l, frame, t, o.minConfidence, 100, SSD_SIZE / o.tileSize));
  const faces = mergeBoxes(found);
  const out: FaceFound[] = [];
  for (const f of faces) {
    if (f.box.width < o.minFaceSize) {
      out.push({ box: f.box, score: f.score });
      continue;
    }
    const m = Math.ceil(f.box.width);
    const x0 = Math.max(0, Math.floor(f.box.x) - m);
    const y0 = Math.max(0, Math.floor(f.box.y) - m);
    const x1 = Math.min(frame.width, Math.ceil(f.box.x + f.box.width) + m);
    const y1 = Math.min(frame.height, Math.ceil(f.box.y + f.box.height) + m);
    const r = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    const crop = tf.tensor3d(resizeRegion(frame, r, r.w, r.h, r.w, r.h, false, scratch(r.w * r.h * 3)), [r.h, r.w, 3], 'float32');
    try {
      const dims = { width: r.w, height: r.h };
      const det = faceapi.extendWithFaceDetection({}, new faceapi.FaceDetection(f.score, new faceapi.Rect((f.box.x - x0) / r.w, (f.box.y - y0) / r.h, f.box.width / r.w, f.box.height / r.h), dims));
      // face-api's own landmark task, fed with the merged detection; then its dlib alignment and
      // the recognition net with each layer fused (recognition.ts: face-api's descriptor, less work)
      const [d] = await new faceapi.DetectAllFaceLandmarksTask(Promise.resolve([det]), crop as never, false);
      let descriptor: Float32Array | undefined;
      if (d) {
        const [face] = await faceapi.extractFaceTensors(crop as never, [d.landmarks.align(null, { useDlibAlignment: true })]);
        try {
          descriptor = await recognize(l, face as never);
        } finally {
          face?.dispose();
        }
      }
      out.push({ box: f.box, score: f.score, ...(descriptor ? { descriptor } : {}) });
    } finally {
      crop.dispose();
    }
  }
  return { faces: out, full, whole };
}
