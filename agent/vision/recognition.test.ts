import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpegFrames, type RgbFrame } from './frames.js';
import { loadNets } from './models.js';
import { foldedRecognition, recognize } from './recognition.js';
import { loadFaceApi, type Loaded } from './tf.js';
import { samplePath } from '../sim/faces/generate.js';

/** recognition.ts re-runs face-api's recognition net with its layers fused: held to face-api's own descriptors. */
let l: Loaded;
let photo: RgbFrame;

beforeAll(async () => {
  l = await loadFaceApi('auto');
  await loadNets(l.faceapi);
  [photo] = await ffmpegFrames(['-i', samplePath(2), '-f', 'image2pipe', '-c:v', 'ppm', '-']);
}, 120_000);

describe('the fused recognition net (recognition.ts)', () => {
  it("gives face-api's descriptor for real aligned faces of several sizes and for noise, and leaks no tensor", async () => {
    const { tf, faceapi } = l;
    foldedRecognition(l);
    const image = tf.tensor3d(photo.data, [photo.height, photo.width, 3], 'int32');
    try {
      const found = await faceapi.detectAllFaces(image as never, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 })).withFaceLandmarks();
      expect(found.length).toBeGreaterThan(0);
      const faces = await faceapi.extractFaceTensors(
        image as never,
        found.map((f) => f.landmarks.align(null, { useDlibAlignment: true })),
      );
      // the same faces shrunk (a back-row face reaches the net small) and a picture of noise
      const inputs = [...faces, ...faces.map((f) => tf.image.resizeBilinear(f as never, [40, 37])), tf.randomUniform([97, 83, 3], 0, 255)];
      try {
        const before = tf.memory().numTensors;
        for (const t of inputs) {
          const ref = (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t as never)) as Float32Array;
          const mine = await recognize(l, t as never);
          expect(mine.length).toBe(128);
          expect(faceapi.euclideanDistance(mine, ref)).toBeLessThan(1e-4);
        }
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        for (const t of inputs) t.dispose();
      }
    } finally {
      image.dispose();
    }
  }, 120_000);

  it('folds each layer once per loaded net', () => {
    expect(foldedRecognition(l)).toBe(foldedRecognition(l));
    expect(foldedRecognition(l).size).toBe(1 + 14 * 2);
  });
});
