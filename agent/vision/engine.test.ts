import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpegFrames, type RgbFrame } from './frames.js';
import { detectFaces } from './engine.js';
import { loadNets } from './models.js';
import { loadFaceApi, type Loaded } from './tf.js';
import { samplePath } from '../sim/faces/generate.js';

/**
 * face-api on the backend chosen in this environment (wasm here: tfjs-node is not installed),
 * and its memory discipline: after warm-up, analysing frame after frame leaves the tensor
 * count exactly where it was. (The 1,000-frame soak with RSS is in `npm run bench -- vision-soak`.)
 */
let l: Loaded;
const frames: RgbFrame[] = [];

beforeAll(async () => {
  l = await loadFaceApi('auto');
  await loadNets(l.faceapi);
  for (const n of [1, 4, 5]) {
    // 1080p, as a camera main stream gives it
    const [f] = await ffmpegFrames(['-i', samplePath(n), '-vf', 'scale=1920:1080:force_original_aspect_ratio=decrease,pad=1920:1080:(ow-iw)/2:(oh-ih)/2', '-f', 'image2pipe', '-c:v', 'ppm', '-']);
    frames.push(f!);
  }
}, 120_000);

describe('face-api in Node without tfjs-node', () => {
  it('runs on the wasm backend and finds the faces of sample1.jpg', async () => {
    expect(l.backend).toBe('wasm');
    expect(l.tf.getBackend()).toBe('wasm');
    const faces = await detectFaces(l, frames[0]!, { minConfidence: 0.5, minFaceSize: 20 });
    expect(faces.length).toBe(3);
    for (const f of faces) {
      expect(f.descriptor!.length).toBe(128);
      expect(f.score).toBeGreaterThan(0.9);
    }
  });

  it('says clearly why the tensorflow backend is unavailable when it is asked for', async () => {
    await expect(loadFaceApi('tensorflow')).rejects.toThrow(/vision backend "tensorflow" requested but @tensorflow\/tfjs-node unavailable/);
  });

  it('keeps numTensors flat over repeated frames', async () => {
    await detectFaces(l, frames[1]!, { minConfidence: 0.5, minFaceSize: 20 }); // warm-up
    const base = l.tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      await detectFaces(l, frames[i % frames.length]!, { minConfidence: 0.5, minFaceSize: 20 });
      expect(l.tf.memory().numTensors).toBe(base);
    }
  }, 120_000);

  it('counts faces too small to identify, without a descriptor (never guessed)', async () => {
    // sample1 at 320 px wide: its three faces are about 30 px
    const [f] = await ffmpegFrames(['-i', samplePath(1), '-vf', 'scale=320:-2', '-f', 'image2pipe', '-c:v', 'ppm', '-']);
    const faces = await detectFaces(l, f!, { minConfidence: 0.5, minFaceSize: 40 });
    expect(faces.length).toBe(3);
    for (const x of faces) {
      expect(x.box.width).toBeLessThan(40);
      expect(x.descriptor).toBeUndefined();
    }
  }, 60_000);

  it('finds back-row faces (about 45 px in a 1080p frame) in tiles that the whole frame misses', async () => {
    // sample1 shrunk to 440 px wide, seated in an empty 1080p frame: faces of 40-47 px
    const [f] = await ffmpegFrames(['-i', samplePath(1), '-vf', 'scale=440:-2,pad=1920:1080:900:500:gray', '-f', 'image2pipe', '-c:v', 'ppm', '-']);
    const whole = await detectFaces(l, f!, { minConfidence: 0.5, minFaceSize: 40 });
    const tiled = await detectFaces(l, f!, { minConfidence: 0.5, minFaceSize: 40, tileSize: 640, tileOverlap: 160 });
    expect(whole.length).toBeLessThan(3);
    expect(tiled.length).toBe(3);
    // each found once (merged across overlapping tiles), inside the seated photo
    for (const x of tiled) {
      expect(x.box.x).toBeGreaterThan(900);
      expect(x.box.x + x.box.width).toBeLessThan(1340);
    }
  }, 120_000);
});
