import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { MODELS_DIR, PACKAGE_ROOT } from '../core/paths.js';
import type { Box, FaceFound } from './engine.js';
import type { FramePlan } from './focus.js';
import type { RgbFrame } from './frames.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import type { BackendName } from './tf.js';

export interface FaceWorkerOptions {
  backend: 'auto' | BackendName;
  modelsDir?: string;
  minConfidence: number;
  minFaceSize: number;
  /** tiles searched besides the whole frame (engine.ts DetectOptions); 0 = none */
  tileSize?: number;
  tileOverlap?: number;
  /** input pixels a piece of the tiled search may have (engine.ts PIECE_AREA when absent; benches try others) */
  pieceArea?: number;
  /** throw the thread away after this many frames (returns wasm heap growth to the OS) */
  recycleAfterFrames: number;
  log?: Logger;
}

export interface Analysis {
  faces: FaceFound[];
  /** the full tiled search ran (planned, or the thread found the scene changed) */
  full: boolean;
  /** the whole-frame pass's faces (the planner compares the next frame's with them) */
  whole: Box[];
  ms: number;
  numTensors: number;
  rss: number;
}

/** The worker's compiled file. Under vitest this module runs from agent/*.ts; threads need JS, so use dist/. */
export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? path.join(PACKAGE_ROOT, 'dist', 'agent', 'vision', 'worker.js') : path.join(path.dirname(here), 'worker.js');
  if (!fs.existsSync(file)) throw new Error(`vision worker ${file} not found: build first (npm run build)`);
  return file;
}

/**
 * The daemon side of the face-analysis thread: one frame in flight at a time, frames sent as
 * transferred buffers (no copy), the thread recycled after N frames or when its tensor count
 * drifts from the count right after loading (a leak: recycling contains it, the log shows it).
 */
export class FaceWorker {
  private worker?: Worker;
  private ready?: Promise<Extract<WorkerReply, { type: 'ready' }>>;
  private pending = new Map<number, { resolve: (r: Analysis) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private frames = 0;
  private baseTensors = 0;
  private chain: Promise<unknown> = Promise.resolve();
  info?: { backend: BackendName; fallbackReason?: string; model: string };
  recycled = 0;

  constructor(private o: FaceWorkerOptions) {}

  async start(): Promise<{ backend: BackendName; fallbackReason?: string; model: string }> {
    if (!this.ready) {
      // A small young generation for the thread: its JS makes little short-lived garbage (the
      // pixels go straight into the wasm heap), and V8's default semi-spaces (up to 16 MB each)
      // stay resident once touched: 4 MB took ~20 MB off the thread's peak RSS at 1080p
      // (bench vision: 347-355 → 328-331 MB) at the same CPU per frame.
      const w = new Worker(workerFile(), { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      this.worker = w;
      this.ready = new Promise((resolve, reject) => {
        const onReply = (m: WorkerReply) => {
          if (m.type === 'ready') {
            this.baseTensors = m.numTensors;
            this.info = { backend: m.backend, fallbackReason: m.fallbackReason, model: m.model };
            resolve(m);
          } else if (m.type === 'error' && m.id === -1) reject(new Error(m.message));
          else if (m.type === 'result') this.pending.get(m.id)?.resolve({ faces: m.faces, full: m.full, whole: m.whole, ms: m.ms, numTensors: m.numTensors, rss: m.rss });
          else if (m.type === 'error') this.pending.get(m.id)?.reject(new Error(m.message));
          if (m.type !== 'ready') this.pending.delete(m.id);
        };
        w.on('message', onReply);
        const fail = (err: Error) => {
          reject(err);
          for (const p of this.pending.values()) p.reject(err);
          this.pending.clear();
          if (this.worker === w) {
            this.worker = undefined;
            this.ready = undefined;
          }
        };
        w.on('error', fail);
        w.on('exit', (code) => fail(new Error(`vision worker exited (${code})`)));
        w.postMessage({
          type: 'init',
          backend: this.o.backend,
          modelsDir: this.o.modelsDir ?? MODELS_DIR,
          minConfidence: this.o.minConfidence,
          minFaceSize: this.o.minFaceSize,
          tileSize: this.o.tileSize ?? 0,
          tileOverlap: this.o.tileOverlap ?? 0,
          ...(this.o.pieceArea ? { pieceArea: this.o.pieceArea } : {}),
        } satisfies WorkerRequest);
      });
    }
    const r = await this.ready;
    return { backend: r.backend, fallbackReason: r.fallbackReason, model: r.model };
  }

  /**
   * Analyse one frame under `plan` (focus.ts; default: the full tiled search). The frame's buffer
   * is transferred to the thread: do not use it afterwards.
   */
  analyze(frame: RgbFrame, plan: FramePlan = { full: true }): Promise<Analysis> {
    const run = async () => {
      await this.start();
      const id = ++this.seq;
      const data = frame.data.byteOffset === 0 && frame.data.byteLength === frame.data.buffer.byteLength ? frame.data.buffer : frame.data.slice().buffer;
      const p = new Promise<Analysis>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      this.worker!.postMessage({ type: 'analyze', id, width: frame.width, height: frame.height, data: data as ArrayBuffer, plan } satisfies WorkerRequest, [data as ArrayBuffer]);
      const r = await p;
      this.frames++;
      if (this.frames >= this.o.recycleAfterFrames || r.numTensors > this.baseTensors) {
        this.o.log?.info({ frames: this.frames, numTensors: r.numTensors, baseTensors: this.baseTensors, rss: r.rss }, 'recycling vision worker');
        await this.stop();
        this.recycled++;
      }
      return r;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    this.frames = 0;
    for (const p of this.pending.values()) p.reject(new Error('vision worker stopped'));
    this.pending.clear();
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}
