import type { Loaded } from './tf.js';
import type { Box } from './engine.js';
import type { RgbFrame } from './frames.js';

/** a rectangle of a frame, integer pixels */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The pixels of `r` resized to outW × outH (bilinear, tfjs's `resizeBilinear` rule with
 * alignCorners and halfPixelCenters off: source = destination × in/out, which is what face-api
 * applies), as float32 RGB in the top-left of a padW × padH zero canvas. Done here rather than
 * in tfjs so the frame never enters the wasm heap whole: a 1080p frame is 25 MB as an int32
 * tensor and again as its float32 cast, and the heap never gives memory back.
 * With `unit`, values are mapped as the SSD wants them, v / 127.5 − 1 (the padding, black, is
 * −1): done here in the same loop, where tfjs's two broadcast ops over the 512 × 512 input took
 * ~28 CPU ms of a ~250 ms pass.
 */
export function resizeRegion(f: RgbFrame, r: Region, outW: number, outH: number, padW = outW, padH = outH, unit = false, into?: Float32Array): Float32Array {
  const out = into ? into.subarray(0, padW * padH * 3) : new Float32Array(padW * padH * 3);
  if (unit || into) out.fill(unit ? -1 : 0);
  resizeInto(f, r, outW, outH, out, padW, 0, 0, unit);
  return out;
}

/**
 * resizeRegion's loop: the pixels of `r` resized to outW × outH, written at (ox, oy) of `out`, a
 * canvas `canvasW` pixels wide (RGB floats), nothing else of the canvas touched: the mosaic
 * (mosaic.ts) puts several regions on one SSD input this way.
 */
export function resizeInto(f: RgbFrame, r: Region, outW: number, outH: number, out: Float32Array, canvasW: number, ox: number, oy: number, unit: boolean): void {
  const [mul, add] = unit ? [1 / 127.5, -1] : [1, 0];
  const sy = r.h / outH;
  const sx = r.w / outW;
  const src = f.data;
  const stride = f.width * 3;
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const fxs = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const s = x * sx;
    const lo = Math.floor(s);
    x0s[x] = (r.x + lo) * 3;
    x1s[x] = (r.x + Math.min(r.w - 1, Math.ceil(s))) * 3;
    fxs[x] = s - lo;
  }
  for (let y = 0; y < outH; y++) {
    const s = y * sy;
    const lo = Math.floor(s);
    const fy = s - lo;
    const row0 = (r.y + lo) * stride;
    const row1 = (r.y + Math.min(r.h - 1, Math.ceil(s))) * stride;
    let o = ((oy + y) * canvasW + ox) * 3;
    for (let x = 0; x < outW; x++) {
      const a = row0 + x0s[x]!;
      const b = row0 + x1s[x]!;
      const c = row1 + x0s[x]!;
      const d = row1 + x1s[x]!;
      const fx = fxs[x]!;
      for (let k = 0; k < 3; k++) {
        const top = src[a + k]! + (src[b + k]! - src[a + k]!) * fx;
        const bottom = src[c + k]! + (src[d + k]! - src[c + k]!) * fx;
        out[o++] = (top + (bottom - top) * fy) * mul + add;
      }
    }
  }
}

let scratchBuf = new Float32Array(0);
/**
 * A float buffer of at least n values, the same one each call (grown when too small), for
 * pixels on their way into a tensor (tfjs copies them into the wasm heap). Why: a fresh 3 MB
 * array per SSD pass (nine per frame with tiles) and one per face crop made ~50 MB of garbage
 * per frame that the thread's GC collected late, and the peak RSS of the vision thread moved
 * with the GC's timing (bench vision: 347-392 MB). Single-threaded use only (one per thread).
 */
export function scratch(n: number): Float32Array {
  if (scratchBuf.length < n) scratchBuf = new Float32Array(n);
  return scratchBuf;
}

/** face-api's SSD MobileNet V1 input side: the net was trained on 512 × 512, its anchors are for that */
export const SSD_SIZE = 512;
/** an input's sides are rounded up to this (the first predictor level's stride), so each level's grid covers it exactly */
export const STRIDE = 16;
const EPSILON = 0.0010000000474974513;

type T = import('@tensorflow/tfjs-core').Tensor;
/** the weights face-api loaded (`faceapi.nets.ssdMobilenetv1.params`), typed loosely: only the shapes used below */
// biome-ignore lint/suspicious/noExplicitAny: face-api's nested weight maps (tensors and sub-maps by layer name), read by name below
type Params = Record<string, any>;

/** face-api's loaded SSD weights (`faceapi.nets.ssdMobilenetv1.params`) */
function ssdParams(l: Loaded): Params {
  const p = (l.faceapi.nets.ssdMobilenetv1 as unknown as { params?: Params }).params;
  if (!p) throw new Error('SSD MobileNet V1 weights are not loaded');
  return p;
}

/**
 * face-api's SSD MobileNet V1 forward pass and box decoding, with the same weights and the same
 * arithmetic, written again for memory: face-api runs the whole MobileNet inside one `tf.tidy`,
 * so all 27 layer outputs of a 512 × 512 input (~100 MB of float32) are alive until the last
 * layer, and it first pads a 1080p frame to a 1920 × 1920 square (int32 → float32, 44 MB) before
 * shrinking it. On the wasm backend the heap only ever grows to its high-water mark, so a
 * vision thread kept ~250 MB of heap for one detection. Here each layer's input is disposed as
 * soon as the next layer exists (only conv11, which the box predictors need, is kept), and the
 * frame is shrunk in JS before it becomes a tensor (resizeRegion): the heap's high-water mark is
 * about two layers.
 * The region of the frame searched is `region` (the whole frame, or a piece); boxes come back in
 * frame pixels. Equivalence with face-api's `locateFaces` is checked by ssd.test.ts on real frames.
 */
export function locateFaces(l: Loaded, frame: RgbFrame, region: Region, minConfidence: number, maxResults = 100, scale = SSD_SIZE / Math.max(region.w, region.h)): { box: Box; score: number }[] {
  // shrink (or enlarge) by `scale` (by default to fit 512), onto an input shaped like the region:
  // its sides rounded up to the net's stride, padded black at the bottom/right (face-api pads
  // every input to a square: a 16:9 frame spent 44 % of its pass on padding; anchorsFor)
  const w = Math.max(1, Math.round(region.w * scale));
  const h = Math.max(1, Math.round(region.h * scale));
  const cw = Math.ceil(w / STRIDE) * STRIDE;
  const ch = Math.ceil(h / STRIDE) * STRIDE;
  const found = detectOnCanvas(l, resizeRegion(frame, region, w, h, cw, ch, true, scratch(cw * ch * 3)), minConfidence, maxResults, cw, ch);
  // input pixels: back to the image's pixels, as face-api does
  const sx = region.w / w;
  const sy = region.h / h;
  return found.map(({ box: c, score }) => {
    const [top, bottom] = [c.y * sy, Math.min(h, c.y + c.height) * sy];
    const [left, right] = [c.x * sx, Math.min(w, c.x + c.width) * sx];
    return { box: { x: region.x + left, y: region.y + top, width: right - left, height: bottom - top }, score };
  });
}

/**
 * The SSD on one prepared input (RGB floats already mapped to [−1, 1], width × height, 512 × 512
 * unless said): boxes in the input's pixels (clipped at its edges, as face-api clips), best score
 * first after NMS. locateFaces feeds it one region of a frame; the mosaic (mosaic.ts) several.
 */
export function detectOnCanvas(l: Loaded, input: Float32Array, minConfidence: number, maxResults = 100, width = SSD_SIZE, height = SSD_SIZE): { box: Box; score: number }[] {
  const { tf } = l;
  const p = ssdParams(l);
  let x: T = tf.tensor4d(input.subarray(0, width * height * 3), [1, height, width, 3], 'float32');
  /** run `f` on x, then drop x unless it must be kept */
  const step = (f: (t: T) => T, keep?: T) => {
    const next = tf.tidy(() => f(x));
    if (x !== keep) x.dispose();
    x = next;
  };
  const folded = fusedWeights(l);
  /** one fused op per layer: conv (batch norm folded in), bias and relu6 in one pass over the output (fusedWeights) */
  const pointwise = (t: T, q: Params, strides: [number, number]) => tf.fused.conv2d({ x: t as never, filter: q.filters, strides, pad: 'same', bias: q.batch_norm_offset, activation: 'relu6' });
  const depthwise = (t: T, q: Params, strides: [number, number]) => {
    const w = folded.get(q)!;
    return tf.fused.depthwiseConv2d({ x: t as never, filter: w.filter as never, strides, pad: 'same', bias: w.bias, activation: 'relu6' });
  };
  const m = p.mobilenetv1 as Params;
  let conv11: T | undefined;
  const kept: T[] = [];
  try {
    step((t) => pointwise(t, m.conv_0, [2, 2]));
    for (let i = 1; i <= 13; i++) {
      const strides: [number, number] = [2, 4, 6, 12].includes(i) ? [2, 2] : [1, 1];
      step((t) => depthwise(t, m[`conv_${i}`].depthwise_conv, strides), conv11);
      step((t) => pointwise(t, m[`conv_${i}`].pointwise_conv, [1, 1]), conv11);
      if (i === 11) {
        conv11 = x;
        kept.push(x);
      }
    }
    kept.push(x);
    const out = tf.tidy(() => {
      const q = p.prediction_layer as Params;
      const c0 = pointwise(x, q.conv_0, [1, 1]);
      const c1 = pointwise(c0, q.conv_1, [2, 2]);
      const c2 = pointwise(c1, q.conv_2, [1, 1]);
      const c3 = pointwise(c2, q.conv_3, [2, 2]);
      const c4 = pointwise(c3, q.conv_4, [1, 1]);
      const c5 = pointwise(c4, q.conv_5, [2, 2]);
      const c6 = pointwise(c5, q.conv_6, [1, 1]);
      const c7 = pointwise(c6, q.conv_7, [2, 2]);
      const conv = (t: T, c: Params) => tf.fused.conv2d({ x: t as never, filter: c.filters, strides: [1, 1], pad: 'same', bias: c.bias });
      const preds = [conv11!, x, c1, c3, c5, c7].map((t, k) => ({
        box: tf.reshape(conv(t, q[`box_predictor_${k}`].box_encoding_predictor), [1, -1, 1, 4]),
        cls: tf.reshape(conv(t, q[`box_predictor_${k}`].class_predictor), [1, -1, 3]),
      }));
      const enc = tf.reshape(
        tf.concat(
          preds.map((z) => z.box),
          1,
        ),
        [-1, 4],
      );
      const cls = tf.concat(
        preds.map((z) => z.cls),
        1,
      );
      // decode against the anchors (face-api's outputLayer)
      const made = width === SSD_SIZE && height === SSD_SIZE ? undefined : anchorsFor(l, width, height);
      const anchors = made ? tf.tensor2d(made, [made.length / 4, 4]) : tf.reshape(p.output_layer.extra_dim, [-1, 4]);
      const [a0, a1, a2, a3] = tf.unstack(tf.transpose(anchors, [1, 0]));
      const sizes = [tf.sub(a2!, a0!), tf.sub(a3!, a1!)];
      const centers = [tf.add(a0!, tf.div(sizes[0]!, 2)), tf.add(a1!, tf.div(sizes[1]!, 2))];
      const [v0, v1, v2, v3] = tf.unstack(tf.transpose(enc, [1, 0]));
      const div0 = tf.div(tf.mul(tf.exp(tf.div(v2!, 5)), sizes[0]!), 2);
      const add0 = tf.add(tf.mul(tf.div(v0!, 10), sizes[0]!), centers[0]!);
      const div1 = tf.div(tf.mul(tf.exp(tf.div(v3!, 5)), sizes[1]!), 2);
      const add1 = tf.add(tf.mul(tf.div(v1!, 10), sizes[1]!), centers[1]!);
      const boxes = tf.transpose(tf.stack([tf.sub(add0, div0), tf.sub(add1, div1), tf.add(add0, div0), tf.add(add1, div1)]), [1, 0]);
      const scores = tf.reshape(tf.slice(tf.sigmoid(tf.slice(cls, [0, 0, 1], [-1, -1, -1])), [0, 0, 0], [-1, -1, 1]), [-1]);
      return { boxes, scores };
    });
    try {
      const scores = Array.from(out.scores.dataSync());
      const b = out.boxes.arraySync() as number[][];
      const idx = nonMaxSuppression(b, scores, maxResults, 0.5, minConfidence);
      // boxes are fractions of the input's sides: its pixels
      return idx.map((i) => {
        const [top, bottom] = [Math.max(0, b[i]![0]!) * height, Math.min(1, b[i]![2]!) * height];
        const [left, right] = [Math.max(0, b[i]![1]!) * width, Math.min(1, b[i]![3]!) * width];
        return { box: { x: left, y: top, width: right - left, height: bottom - top }, score: scores[i]! };
      });
    } finally {
      out.boxes.dispose();
      out.scores.dispose();
    }
  } finally {
    for (const t of new Set([...kept, x])) if (!t.isDisposed) t.dispose();
  }
}

/**
 * the anchors per input size, as plain numbers (made once: a thread sees a few sizes); each pass
 * makes its tensor from them inside its tidy, so the thread's tensor count, which the client
 * watches for leaks, does not move when a new size first appears
 */
const anchorsBySize = new WeakMap<object, Map<string, Float32Array>>();

/**
 * The SSD's anchors (prior boxes, [ymin, xmin, ymax, xmax] as fractions of the input) for an
 * input of width × height. face-api ships them for 512 × 512 only (`output_layer.extra_dim`,
 * 5,118 boxes); the net itself is fully convolutional, so a wider or lower input gives larger
 * or smaller grids at each of its six predictor levels (strides 16 … 512). The anchors are
 * read back from face-api's: per level, the sizes (in pixels of the 512 input) of the anchors
 * of one cell, the same at every cell; laid again on the input's own grid with centres every
 * `stride` pixels, as the 512 grid has them, and the same sizes in pixels. For 512 × 512 this
 * gives face-api's anchors back (ssd.test.ts). Why at all: a 16:9 frame padded to a square
 * spends 44 % of a pass on padding, and tiles of a frame overlap; a pass shaped like what it
 * looks at does neither (engine.ts, piecesOf).
 */
export function anchorsFor(l: Loaded, width: number, height: number): Float32Array {
  const p = ssdParams(l);
  let bySize = anchorsBySize.get(p);
  if (!bySize) anchorsBySize.set(p, (bySize = new Map()));
  const key = `${width}x${height}`;
  const have = bySize.get(key);
  if (have) return have;
  const ref = (p.output_layer.extra_dim as T).dataSync();
  const out: number[] = [];
  let at = 0;
  for (const [k, n] of [32, 16, 8, 4, 2, 1].entries()) {
    const per = k === 0 ? 3 : 6; // anchors per cell: 3 at the first level, 6 above (face-api's 5,118)
    const stride = SSD_SIZE / n;
    // the sizes of one cell's anchors at this level, in 512-input pixels
    const cell = Array.from({ length: per }, (_, a) => {
      const o = (at + a) * 4;
      return { h: (ref[o + 2]! - ref[o]!) * SSD_SIZE, w: (ref[o + 3]! - ref[o + 1]!) * SSD_SIZE };
    });
    at += n * n * per;
    const rows = Math.ceil(height / stride);
    const cols = Math.ceil(width / stride);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        const cy = (i + 0.5) * stride;
        const cx = (j + 0.5) * stride;
        for (const c of cell) out.push((cy - c.h / 2) / height, (cx - c.w / 2) / width, (cy + c.h / 2) / height, (cx + c.w / 2) / width);
      }
  }
  const a = Float32Array.from(out);
  bySize.set(key, a);
  return a;
}

/** per loaded SSD: each depthwise layer's filter and bias with its batch norm folded in */
const foldedByNet = new WeakMap<object, Map<Params, { filter: T; bias: T }>>();

/**
 * The depthwise layers' batch norms folded into their filters, made once per loaded net (call
 * it before counting tensors: the vision worker does at start). face-api runs every layer as
 * conv, then batch norm (or bias add), then clip to [0, 6]: three passes over a layer's output,
 * two of them tfjs-wasm's plain loops with broadcasting, which cost about as much as the
 * convolutions (measured: the backbone of one 512 × 512 pass 308 → 220 CPU ms fused). Folded,
 * each layer is one fused op (XNNPACK's convolution with bias and output clamp). The same
 * arithmetic reordered: y = (conv(x, w) − mean) · s + offset with s = scale / √(variance + ε)
 * is conv(x, w · s) + (offset − mean · s); outputs agree with face-api's to float rounding
 * (ssd.test.ts holds boxes and scores equal).
 */
export function fusedWeights(l: Loaded): Map<Params, { filter: T; bias: T }> {
  const { tf } = l;
  const p = ssdParams(l);
  let m = foldedByNet.get(p);
  if (m) return m;
  m = new Map();
  for (let i = 1; i <= 13; i++) {
    const q = p.mobilenetv1[`conv_${i}`].depthwise_conv as Params;
    const w = tf.tidy(() => {
      const s = tf.div(q.batch_norm_scale, tf.sqrt(tf.add(q.batch_norm_variance, EPSILON)));
      return { filter: tf.keep(tf.mul(q.filters, tf.reshape(s, [1, 1, -1, 1]))), bias: tf.keep(tf.sub(q.batch_norm_offset, tf.mul(q.batch_norm_mean, s))) };
    });
    m.set(q, w);
  }
  foldedByNet.set(p, m);
  return m;
}

/** Overlap of two [ymin, xmin, ymax, xmax] boxes (face-api's SSD IOU, corners in either order). */
function iouYx(a: number[], b: number[]): number {
  const [ay0, ax0, ay1, ax1] = [Math.min(a[0]!, a[2]!), Math.min(a[1]!, a[3]!), Math.max(a[0]!, a[2]!), Math.max(a[1]!, a[3]!)];
  const [by0, bx0, by1, bx1] = [Math.min(b[0]!, b[2]!), Math.min(b[1]!, b[3]!), Math.max(b[0]!, b[2]!), Math.max(b[1]!, b[3]!)];
  const areaA = (ay1 - ay0) * (ax1 - ax0);
  const areaB = (by1 - by0) * (bx1 - bx0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const inter = Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0) * Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0);
  return inter / (areaA + areaB - inter);
}

/**
 * face-api's SSD non-maximum suppression (not exported by the package), the same rule: best
 * score first, a candidate dropped when it overlaps a selected box by more than `iouThreshold`.
 * face-api's copy reads the whole box tensor back from wasm for every pair compared; this one
 * takes the boxes read once.
 */
function nonMaxSuppression(boxes: number[][], scores: number[], maxOutput: number, iouThreshold: number, scoreThreshold: number): number[] {
  const candidates = scores
    .map((score, i) => ({ score, i }))
    .filter((c) => c.score > scoreThreshold)
    .sort((a, b) => b.score - a.score);
  const selected: number[] = [];
  for (const c of candidates) {
    if (selected.length >= Math.min(maxOutput, boxes.length)) break;
    if (selected.every((j) => iouYx(boxes[c.i]!, boxes[j]!) <= iouThreshold)) selected.push(c.i);
  }
  return selected;
}
