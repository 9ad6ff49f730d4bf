import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpegFrames, type RgbFrame } from './frames.js';
import { detectFaces, iou } from './engine.js';
import { anchorsFor, detectOnCanvas, fusedWeights, locateFaces, resizeRegion } from './ssd.js';
import { FaceWorker } from './client.js';
import { loadNets } from './models.js';
import { loadFaceApi, type Loaded } from './tf.js';
import { samplePath } from '../sim/faces/generate.js';

/**
 * ssd.ts re-implements face-api's SSD forward pass (and the frame's shrinking) for memory; these
 * tests hold it to face-api's own answers on real photos, and show the memory it saves.
 */
let l: Loaded;
let wide: RgbFrame;
const heapMB = () => (l.tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength / 2 ** 20;

beforeAll(async () => {
  l = await loadFaceApi('auto');
  await loadNets(l.faceapi);
  // 1080p as a camera gives it: sample 1's three faces, about 150 px
  [wide] = await ffmpegFrames(['-i', samplePath(1), '-vf', 'scale=1920:1080:force_original_aspect_ratio=decrease,pad=1920:1080:(ow-iw)/2:(oh-ih)/2', '-f', 'image2pipe', '-c:v', 'ppm', '-']);
}, 120_000);

describe('the lean SSD (ssd.ts)', () => {
  // first, while the heap is fresh: its high-water mark is what a vision thread keeps
  it("gives face-api's faces and descriptors from per-face crops, in a smaller wasm heap", async () => {
    const before = heapMB();
    const mine = await detectFaces(l, wide, { minConfidence: 0.5, minFaceSize: 0 });
    const lean = heapMB();
    // face-api's own path on the same frame, as engine.ts ran it before (one 1080p tensor)
    const input = l.tf.tensor3d(wide.data, [wide.height, wide.width, 3], 'int32');
    const ref = await l.faceapi
      .detectAllFaces(input as never, new l.faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 }))
      .withFaceLandmarks()
      .withFaceDescriptors();
    input.dispose();
    const plain = heapMB();
    expect(ref.length).toBe(3);
    expect(mine.length).toBe(3);
    for (const r of ref) {
      const m = mine.find((x) => Math.abs(x.box.x - r.detection.box.x) < 0.5 && Math.abs(x.box.y - r.detection.box.y) < 0.5);
      expect(m, `face at ${r.detection.box.x},${r.detection.box.y}`).toBeDefined();
      expect(l.faceapi.euclideanDistance(m!.descriptor!, r.descriptor)).toBeLessThan(1e-3);
    }
    // the heap only grows: face-api's path had to grow it well past what the lean path needed
    // (measured: 48 MB of weights → ~150 MB lean, then → ~300 MB for face-api's path)
    if (l.backend === 'wasm') expect(plain - lean, `heap ${before} → ${lean} MB (lean), then ${plain} MB (face-api)`).toBeGreaterThan(50);
  }, 180_000);

  it("finds face-api's boxes and scores on a square input: a whole 1080p frame padded square, and a tile", async () => {
    const input = l.tf.tensor3d(wide.data, [wide.height, wide.width, 3], 'int32');
    const tile = l.tf.slice(input, [440, 900, 0], [640, 640, 3]);
    const whole = { x: 0, y: 0, w: wide.width, h: wide.height };
    // face-api pads the frame to a square before shrinking it: the same input made by hand
    const padded = () =>
      detectOnCanvas(l, resizeRegion(wide, whole, 512, 288, 512, 512, true), 0.3).map((d) => ({
        ...d,
        box: { x: d.box.x * 3.75, y: d.box.y * 3.75, width: d.box.width * 3.75, height: d.box.height * 3.75 },
      }));
    try {
      for (const [t, region, mine] of [
        [input, whole, padded()],
        [tile, { x: 900, y: 440, w: 640, h: 640 }, locateFaces(l, wide, { x: 900, y: 440, w: 640, h: 640 }, 0.3)],
      ] as const) {
        const ref = await l.faceapi.detectAllFaces(t as never, new l.faceapi.SsdMobilenetv1Options({ minConfidence: 0.3, maxResults: 100 }));
        expect(mine.length).toBe(ref.length);
        ref.forEach((r, i) => {
          expect(mine[i]!.score).toBeCloseTo(r.score, 4);
          expect(Math.abs(mine[i]!.box.x - region.x - r.box.x)).toBeLessThan(0.5);
          expect(Math.abs(mine[i]!.box.y - region.y - r.box.y)).toBeLessThan(0.5);
          expect(Math.abs(mine[i]!.box.width - r.box.width)).toBeLessThan(0.5);
          expect(Math.abs(mine[i]!.box.height - r.box.height)).toBeLessThan(0.5);
        });
      }
    } finally {
      tile.dispose();
      input.dispose();
    }
  }, 120_000);

  it("lays face-api's anchors again for any input: the same 5,118 for 512 × 512, and a 16:9 frame's input shaped like it finds the same faces", async () => {
    const ref = (l.faceapi.nets.ssdMobilenetv1 as unknown as { params: { output_layer: { extra_dim: { dataSync(): Float32Array } } } }).params.output_layer.extra_dim.dataSync();
    const mine = anchorsFor(l, 512, 512);
    expect(mine.length).toBe(5118 * 4);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(mine[i]! - ref[i]!)).toBeLessThan(1e-6);
    // 832 × 496: grids 52 × 31, 26 × 16, 13 × 8, 7 × 4, 4 × 2, 2 × 1 cells
    expect(anchorsFor(l, 832, 496).length / 4).toBe(52 * 31 * 3 + (26 * 16 + 13 * 8 + 7 * 4 + 4 * 2 + 2 * 1) * 6);
    // the whole frame on a 512 × 288 input (no padding to a square) against face-api's padded one
    const whole = { x: 0, y: 0, w: wide.width, h: wide.height };
    const shaped = locateFaces(l, wide, whole, 0.3);
    const input = l.tf.tensor3d(wide.data, [wide.height, wide.width, 3], 'int32');
    try {
      const faceapi = await l.faceapi.detectAllFaces(input as never, new l.faceapi.SsdMobilenetv1Options({ minConfidence: 0.3, maxResults: 100 }));
      expect(shaped.length).toBe(faceapi.length);
      for (const r of faceapi) {
        const b = { x: r.box.x, y: r.box.y, width: r.box.width, height: r.box.height };
        const m = shaped.find((x) => iou(x.box, b) > 0.8);
        expect(m, `face at ${b.x},${b.y}`).toBeDefined();
        expect(Math.abs(m!.score - r.score)).toBeLessThan(0.05);
      }
    } finally {
      input.dispose();
    }
  }, 120_000);

  it('folds each batch norm once per loaded net, and the vision worker makes them before it counts tensors', async () => {
    // the same tensors every call: made once, never per frame
    expect(fusedWeights(l)).toBe(fusedWeights(l));
    const before = l.tf.memory().numTensors;
    locateFaces(l, wide, { x: 0, y: 0, w: wide.width, h: wide.height }, 0.5);
    expect(l.tf.memory().numTensors).toBe(before);
    // a worker that made them lazily would see its tensor count rise after the first frame and
    // recycle its thread (reloading every net) on every frame
    const w = new FaceWorker({ backend: 'auto', minConfidence: 0.5, minFaceSize: 40, tileSize: 640, tileOverlap: 160, recycleAfterFrames: 100 });
    try {
      for (let i = 0; i < 2; i++) {
        const a = await w.analyze({ width: wide.width, height: wide.height, data: wide.data.slice() });
        expect(a.faces.length).toBe(3);
      }
      expect(w.recycled).toBe(0);
    } finally {
      await w.stop();
    }
  }, 180_000);
});
