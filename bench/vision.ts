import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { Bench } from './index.js';
import { configSchema } from '../agent/config/schema.js';
import { makeAccuracyClassroom } from '../agent/sim/faces/accuracy.js';
import { makeClassroomFixture, samplePath } from '../agent/sim/faces/generate.js';
import { FaceWorker } from '../agent/vision/client.js';
import { FacePool } from '../agent/vision/pool.js';
import { detectFaces } from '../agent/vision/engine.js';
import { ffmpegFrames, sampleVideo, type RgbFrame } from '../agent/vision/frames.js';
import { matchFrame, type GalleryEntry } from '../agent/vision/match.js';
import { loadNets } from '../agent/vision/models.js';
import { loadFaceApi } from '../agent/vision/tf.js';

const copy = (f: RgbFrame): RgbFrame => ({ width: f.width, height: f.height, data: f.data.slice() });

/** The baseline thread (vision-bare-worker.ts), given the frames once: it then times only face-api. */
async function bareWorker(frames: RgbFrame[]) {
  const w = new Worker(fileURLToPath(new URL('./vision-bare-worker.js', import.meta.url)));
  let waiting: { resolve: (m: Record<string, number>) => void; reject: (e: Error) => void } | undefined;
  w.on('message', (m: Record<string, number>) => waiting?.resolve(m));
  w.on('error', (e) => waiting?.reject(e));
  const next = () => new Promise<Record<string, number>>((resolve, reject) => (waiting = { resolve, reject }));
  let p = next();
  await p; // models loaded
  p = next();
  w.postMessage({ frames });
  await p;
  return {
    run: async (i: number) => {
      const r = next();
      w.postMessage({ i });
      return (await r) as { ms: number; faces: number };
    },
    stop: () => w.terminate(),
  };
}

/**
 * 1080p classroom frames (8 seats, faces 110-160 px), one at a time, interleaved frame by frame
 * so the machine's load hits both alike:
 *   bare:  face-api in a thread of its own, timed inside the thread (detection, landmarks,
 *          descriptors; nothing else);
 *   agent: the daemon's path timed from the daemon's side: the frame handed to the vision
 *          worker, the same face-api work, the size gate, the reply, matching against the roster.
 * Overhead = agent / bare - 1. Then the throughput of 1 and 2 analysis threads (vision.threads).
 */
export const visionBench: Bench = {
  name: 'vision',
  title: 'face analysis: 1080p frames/s on the backend in use; agent vs bare face-api',
  async run() {
    const n = Number(process.env.VISION_BENCH_FRAMES ?? 12);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-bench-vision-'));
    try {
      // the full 12-frame fixture (fewer frames cannot seat everyone 4 times); n frames are taken from it in a loop
      const fx = await makeClassroomFixture({ dir });
      const video = await sampleVideo(fx.video, 1, 1920);
      const frames = Array.from({ length: n }, (_, i) => video[i % video.length]!);
      const opts = { backend: 'auto' as const, minConfidence: 0.5, minFaceSize: 40, recycleAfterFrames: 1_000_000 };
      const bare = await bareWorker(frames);
      const worker = new FaceWorker(opts);
      const info = await worker.start();
      const gallery: GalleryEntry[] = Array.from({ length: 22 }, (_, i) => ({ trainee: `S${i % 11}`, descriptor: Float32Array.from({ length: 128 }, () => Math.random() * 0.2 - 0.1) }));
      // warm-up both (the first inference compiles the wasm kernels)
      await bare.run(0);
      await worker.analyze(copy(frames[0]!));
      const bareMs: number[] = [];
      const agentMs: number[] = [];
      let faces = 0;
      for (let i = 0; i < n; i++) {
        const b = await bare.run(i);
        bareMs.push(b.ms);
        faces += b.faces;
        const f = copy(frames[i]!); // the copy stands for ffmpeg's fresh buffer: not the agent's cost
        const t = performance.now();
        const a = await worker.analyze(f);
        matchFrame(
          a.faces.map((x) => x.descriptor),
          gallery,
          { threshold: 0.4, margin: 0.08 },
        );
        agentMs.push(performance.now() - t);
      }
      await bare.stop();
      await worker.stop();
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const fps = (ms: number[]) => (ms.length * 1000) / sum(ms);
      // throughput: N threads, N frames in flight, wall clock from the daemon's side
      const throughput = async (threads: number) => {
        const pool = new FacePool(opts, threads);
        await pool.start();
        await Promise.all(Array.from({ length: threads }, (_, i) => pool.analyze(copy(frames[i % n]!))));
        const t = performance.now();
        await Promise.all(frames.map((f) => pool.analyze(copy(f))));
        const wall = performance.now() - t;
        await pool.stop();
        return (n * 1000) / wall;
      };
      const one = await throughput(1);
      const two = await throughput(2);
      console.log(`  backend: ${info.backend}${info.fallbackReason ? ` (${info.fallbackReason})` : ''}; cpus: ${os.cpus().length}; load avg: ${os.loadavg()[0]!.toFixed(1)}`);
      console.log(`  frames: ${n} × 1920×1080, ${(faces / n).toFixed(1)} faces/frame`);
      console.log(`  bare face-api (own thread):  ${(sum(bareMs) / n).toFixed(0)} ms/frame = ${fps(bareMs).toFixed(2)} frames/s`);
      console.log(`  agent (worker + gate + match): ${(sum(agentMs) / n).toFixed(0)} ms/frame = ${fps(agentMs).toFixed(2)} frames/s`);
      console.log(
        `  agent vs bare: ${((sum(agentMs) / sum(bareMs) - 1) * 100).toFixed(1)}% (the agent's SSD is ssd.ts, lean and fused, not face-api's own; before it the same work cost the agent ≤ 10% more than bare face-api)`,
      );
      console.log(`  throughput: 1 analysis thread ${one.toFixed(2)} frames/s; 2 threads (vision.threads: 2) ${two.toFixed(2)} frames/s (target ≥ 1 on 2 cores)`);
      console.log('  (above: whole frame only, no tiles, so that agent and bare do the same work: the worker overhead)');
      await budget(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

/**
 * The issue's figure (#17): CPU per 1080p frame and the vision thread's peak RSS on the default
 * path beside bare face-api (whole frame only) on the same frames of the accuracy classroom (15
 * people, faces 32-180 px), each side in a process of its own (vision-rss-child.ts: its peak RSS
 * is the vision thread's plus a bare Node main thread). The frames are consecutive frames of a
 * lesson (one seating held over them, ± 3 px, each face's pose and light drawn again per frame)
 * and go through the agent's planner (focus.ts): the full tiled search every fullScanEvery
 * frames (and when the scene changes), the whole frame + the mosaic of focus regions between;
 * the CPU per frame is the sequence's average, printed beside the cost of each kind of frame.
 * The budget: 4 cameras × 1 frame per sampleEverySeconds on one core. CPU time, not the wall
 * clock: on the shared build machine the wall clock measures the neighbours.
 * VISION_BENCH_BUDGET_FRAMES (default 6), VISION_BENCH_BUDGET_STILL (frames per seating, default
 * all of them), VISION_FULL_EVERY (default vision.fullScanEvery; 1: tiles on every frame).
 */
async function budget(dir: string): Promise<void> {
  const m = Number(process.env.VISION_BENCH_BUDGET_FRAMES ?? 6);
  const still = Number(process.env.VISION_BENCH_BUDGET_STILL ?? m);
  const cfg = configSchema.parse({}).vision;
  const fullEvery = Number(process.env.VISION_FULL_EVERY ?? cfg.fullScanEvery);
  const fx = await makeAccuracyClassroom({ dir: path.join(dir, 'acc'), frames: m, still });
  const raw = path.join(dir, 'frames.rgb');
  fs.writeFileSync(raw, Buffer.concat(fx.frames.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength))));
  const faces = fx.seated.flat().length / m;
  const child = (mode: 'agent' | 'bare') => {
    const load = os.loadavg()[0]!;
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('./vision-rss-child.js', import.meta.url)), mode, raw, String(m), '1920', '1080'], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      env: { ...process.env, VISION_FULL_EVERY: String(fullEvery) },
    });
    if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr.trim().split('\n').pop()}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      msPerFrame: number;
      cpuMsPerFrame: number;
      peakRssMB: number;
      baseRssMB: number;
      fullFrames: number;
      escalated: number;
      fullCpuMs: number;
      focusFrames: number;
      focusCpuMs: number;
    };
    return { ...out, load: `${load.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}` };
  };
  const ag = child('agent');
  const ba = child('bare');
  const limit = (cfg.sampleEverySeconds * 1000) / 4;
  console.log(
    `  default path, ${m} consecutive frames of a lesson in the accuracy classroom (1920×1080, ${faces} people, faces 32-180 px, a seating held ${still} frames), each side in a process of its own:`,
  );
  console.log(
    `    agent (whole frame + ${cfg.tileSize}/${cfg.tileOverlap} tiles every ${fullEvery} frame(s), focus mosaic between, fused SSD): CPU ${ag.cpuMsPerFrame.toFixed(0)} ms/frame over the sequence, wall ${ag.msPerFrame.toFixed(0)} ms/frame = ${(1000 / ag.msPerFrame).toFixed(2)} frames/s, peak RSS ${ag.peakRssMB.toFixed(0)} MB, of which ${ag.baseRssMB.toFixed(0)} MB the process before the thread started (load avg ${ag.load})`,
  );
  console.log(
    `      of which: ${ag.fullFrames} full-search frame(s) (${ag.escalated} of them because the scene changed) at ${ag.fullCpuMs.toFixed(0)} CPU ms each, ${ag.focusFrames} focus frame(s) at ${ag.focusCpuMs.toFixed(0)} CPU ms each`,
  );
  console.log(
    `    bare face-api (whole frame, no tiles):  CPU ${ba.cpuMsPerFrame.toFixed(0)} ms/frame, wall ${ba.msPerFrame.toFixed(0)} ms/frame = ${(1000 / ba.msPerFrame).toFixed(2)} frames/s, peak RSS ${ba.peakRssMB.toFixed(0)} MB (its thread also holds the ${m} frames) (load avg ${ba.load})`,
  );
  console.log(
    `    budget: 4 cameras × 1 frame / ${cfg.sampleEverySeconds} s on one core = ≤ ${limit.toFixed(0)} CPU ms per frame: agent ${ag.cpuMsPerFrame <= limit ? 'fits' : `over by ${(ag.cpuMsPerFrame / limit).toFixed(2)}×`}; peak RSS ≤ 350 MB: ${ag.peakRssMB <= 350 ? 'met' : 'not met'} (CPU time under load is inflated by the neighbours' cache and memory traffic)`,
  );
}

/**
 * The 1,000-frame soak: numTensors must not move and RSS must grow < 10% after warm-up.
 * In-process (no recycling), so a leak is not hidden by the worker's recycling.
 * VISION_SOAK_FRAMES (default 1000), VISION_SOAK_WIDTH (default 1280).
 */
export const visionSoak: Bench = {
  name: 'vision-soak',
  title: 'face analysis memory: tensors and RSS over 1,000 frames',
  async run() {
    const n = Number(process.env.VISION_SOAK_FRAMES ?? 1000);
    const width = Number(process.env.VISION_SOAK_WIDTH ?? 1280);
    const l = await loadFaceApi('auto');
    await loadNets(l.faceapi);
    const frames: RgbFrame[] = [];
    for (const s of [1, 2, 3, 4, 5, 6]) {
      const [f] = await ffmpegFrames(['-i', samplePath(s), '-vf', `scale=${width}:-2`, '-f', 'image2pipe', '-c:v', 'ppm', '-']);
      frames.push(f!);
    }
    const warm = Math.min(50, Math.floor(n / 10));
    let base = { tensors: 0, rss: 0 };
    let maxRss = 0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await detectFaces(l, frames[i % frames.length]!, { minConfidence: 0.5, minFaceSize: 20 });
      await new Promise(setImmediate); // let the GC and finalizers run, as the daemon's loop would
      if (i === warm - 1) base = { tensors: l.tf.memory().numTensors, rss: process.memoryUsage().rss };
      if (i >= warm) {
        maxRss = Math.max(maxRss, process.memoryUsage().rss);
        if (l.tf.memory().numTensors !== base.tensors) throw new Error(`numTensors moved: ${base.tensors} → ${l.tf.memory().numTensors} at frame ${i}`);
      }
      if ((i + 1) % 100 === 0) console.log(`  ${i + 1} frames, ${l.tf.memory().numTensors} tensors, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
    }
    const end = process.memoryUsage().rss;
    console.log(`  backend ${l.backend}; ${n} frames at ${width} px in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    console.log(`  tensors: ${base.tensors} after warm-up (${warm} frames), ${l.tf.memory().numTensors} at the end`);
    console.log(
      `  RSS: ${(base.rss / 2 ** 20).toFixed(0)} MB after warm-up, ${(end / 2 ** 20).toFixed(0)} MB at the end, max ${(maxRss / 2 ** 20).toFixed(0)} MB: growth ${(((maxRss - base.rss) / base.rss) * 100).toFixed(1)}% (limit 10%)`,
    );
    if (maxRss > base.rss * 1.1) throw new Error('RSS grew more than 10% after warm-up');
  },
};
