/**
 * The vision bench's baseline: a bare face-api call in a thread of its own, the way the agent
 * runs face-api, so that agent vs bare compares like with like (the same thread type, the same
 * backend and weights) and the difference is what the agent adds: the frame's transfer, the
 * worker protocol, the size gate and the matching.
 */
import { parentPort } from 'node:worker_threads';
import { loadFaceApi } from '../agent/vision/tf.js';
import { loadNets } from '../agent/vision/models.js';
import type { RgbFrame } from '../agent/vision/frames.js';

const port = parentPort!;
const l = await loadFaceApi('auto');
await loadNets(l.faceapi);
let frames: RgbFrame[] = [];
let withFaces = false;

port.on('message', async (m: { frames: RgbFrame[]; withFaces?: boolean } | { i: number }) => {
  if ('frames' in m) {
    frames = m.frames;
    withFaces = !!m.withFaces;
    port.postMessage({ ready: true });
    return;
  }
  const f = frames[m.i]!;
  const t = performance.now();
  const input = l.tf.tensor3d(f.data, [f.height, f.width, 3], 'int32');
  const r = await l.faceapi
    .detectAllFaces(input as never, new l.faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 }))
    .withFaceLandmarks()
    .withFaceDescriptors();
  input.dispose();
  const ms = performance.now() - t;
  // the faces only when asked (the accuracy bench), outside the timed part
  const boxes = withFaces ? r.map((f) => ({ box: { x: f.detection.box.x, y: f.detection.box.y, width: f.detection.box.width, height: f.detection.box.height }, descriptor: f.descriptor })) : undefined;
  port.postMessage({ ms, faces: r.length, boxes, rss: process.memoryUsage().rss });
});
port.postMessage({ loaded: true });
