/**
 * One side of the vision-accuracy bench's speed and memory figures, in a process of its own so
 * that its peak RSS is the vision thread's (plus a bare Node main thread), not the bench's
 * fixtures: `node vision-rss-child.js agent|bare FRAMES_FILE N WIDTH HEIGHT`. The frames file
 * holds N raw RGB pictures. Prints one JSON line: ms per frame and peak RSS (getrusage maxrss).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { configSchema } from '../agent/config/schema.js';
import { FaceWorker } from '../agent/vision/client.js';
import type { RgbFrame } from '../agent/vision/frames.js';

const [mode, file, nArg, wArg, hArg] = process.argv.slice(2);
const n = Number(nArg);
const width = Number(wArg);
const height = Number(hArg);
const size = width * height * 3;
const fd = fs.openSync(file!, 'r');
/** Read frame i from the file when needed: the bench's frames never sit in this process's memory all at once. */
const frame = (i: number): RgbFrame => {
  const data = new Uint8Array(size);
  fs.readSync(fd, data, 0, size, (i % n) * size);
  return { width, height, data };
};
const v = configSchema.parse({}).vision;
let ms = 0;
if (mode === 'agent') {
  const w = new FaceWorker({
    backend: v.backend,
    minConfidence: v.minConfidence,
    minFaceSize: v.minFaceSize,
    tileSize: v.tileSize,
    tileOverlap: v.tileOverlap,
    recycleAfterFrames: v.recycleAfterFrames,
  });
  await w.start();
  await w.analyze(frame(0));
  for (let i = 0; i < n; i++) {
    const f = frame(i);
    const t = performance.now();
    await w.analyze(f);
    ms += performance.now() - t;
  }
  await w.stop();
} else {
  const w = new Worker(fileURLToPath(new URL('./vision-bare-worker.js', import.meta.url)));
  let waiting: ((m: { ms: number }) => void) | undefined;
  w.on('message', (m) => waiting?.(m as never));
  const next = () => new Promise<{ ms: number }>((r) => (waiting = r));
  await next();
  // the bare worker takes its frames up front; it times face-api alone
  const ready = next();
  w.postMessage({ frames: Array.from({ length: n }, (_, i) => frame(i)) });
  await ready;
  for (let i = -1; i < n; i++) {
    const r = next();
    w.postMessage({ i: Math.max(0, i) });
    const x = await r;
    if (i >= 0) ms += x.ms;
  }
  await w.terminate();
}
process.stdout.write(`${JSON.stringify({ msPerFrame: ms / n, peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
