/**
 * One side of the vision-accuracy bench's speed and memory figures, in a process of its own so
 * that its peak RSS is the vision thread's (plus a bare Node main thread), not the bench's
 * fixtures: `node vision-rss-child.js agent|bare FRAMES_FILE N WIDTH HEIGHT`. The frames file
 * holds N raw RGB pictures. Prints one JSON line: ms per frame (wall clock), CPU ms per frame
 * (the process's user + system time over the timed frames: on a shared machine the wall clock
 * measures the neighbours, the CPU time what one frame costs a core) and peak RSS (VmHWM, see peakRssMB).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { configSchema } from '../agent/config/schema.js';
import { FaceWorker } from '../agent/vision/client.js';
import { FocusPlanner } from '../agent/vision/focus.js';
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
/**
 * The process's RSS before the vision thread starts: bare Node, this script and the config
 * schema (~56 MB). In the agent that share is the daemon's main thread, there anyway; the
 * thread's own share of the peak is peakRssMB − baseRssMB. The frames are never all held here:
 * one at a time is read and transferred to the thread, as the agent's ffmpeg reader does.
 */
const baseRssMB = process.memoryUsage().rss / 2 ** 20;
let ms = 0;
let cpu0 = process.cpuUsage();
let cpu = { user: 0, system: 0 };
/** agent: per frame, whether the full search ran (planned or the scene changed) and its CPU time */
const kinds: { full: boolean; escalated: boolean; cpuMs: number }[] = [];
if (mode === 'agent') {
  const w = new FaceWorker({
    backend: v.backend,
    minConfidence: v.minConfidence,
    minFaceSize: v.minFaceSize,
    tileSize: v.tileSize,
    tileOverlap: v.tileOverlap,
    ...(process.env.VISION_PIECE_AREA ? { pieceArea: Number(process.env.VISION_PIECE_AREA) } : {}),
    recycleAfterFrames: v.recycleAfterFrames,
  });
  await w.start();
  await w.analyze(frame(0));
  // the frames as consecutive frames of one camera, through the agent's planner (focus.ts):
  // full tiled search every fullScanEvery frames, focus regions between
  const planner = new FocusPlanner({ fullEvery: Number(process.env.VISION_FULL_EVERY ?? v.fullScanEvery), sampleEveryMs: v.sampleEverySeconds * 1000 });
  cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const f = frame(i);
    const at = i * v.sampleEverySeconds * 1000;
    const plan = planner.plan('bench', at);
    const c = process.cpuUsage();
    const t = performance.now();
    const a = await w.analyze(f, plan);
    ms += performance.now() - t;
    const d = process.cpuUsage(c);
    planner.observe('bench', at, plan, a);
    kinds.push({ full: a.full, escalated: a.full && !plan.full, cpuMs: (d.user + d.system) / 1000 });
  }
  cpu = process.cpuUsage(cpu0);
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
    if (i < 0) cpu0 = process.cpuUsage();
    if (i >= 0) ms += x.ms;
  }
  cpu = process.cpuUsage(cpu0);
  await w.terminate();
}
/**
 * This process's own peak RSS: VmHWM, the high-water mark of the memory it has had since it was
 * started (exec). Not getrusage's maxRSS: on Linux that keeps the parent's RSS at the fork that
 * started this child (the kernel folds the forked copy's high-water mark in at exec), so under
 * the bench, whose own process is 350-400 MB by then, the child reported the bench's size
 * whenever that was larger (349-410 MB printed where the child itself peaked at 320-332 MB).
 */
function peakRssMB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: getrusage below
  }
  return process.resourceUsage().maxRSS / 1024;
}
const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const full = kinds.filter((k) => k.full);
const focus = kinds.filter((k) => !k.full);
process.stdout.write(
  `${JSON.stringify({
    msPerFrame: ms / n,
    cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / n,
    peakRssMB: peakRssMB(),
    baseRssMB,
    fullFrames: full.length,
    escalated: kinds.filter((k) => k.escalated).length,
    fullCpuMs: avg(full.map((k) => k.cpuMs)),
    focusFrames: focus.length,
    focusCpuMs: avg(focus.map((k) => k.cpuMs)),
  })}\n`,
);
