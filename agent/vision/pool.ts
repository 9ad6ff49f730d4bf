import { FaceWorker, type Analysis, type FaceWorkerOptions } from './client.js';
import type { RgbFrame } from './frames.js';
import type { FramePlan } from './focus.js';

/**
 * N analysis threads. face-api on wasm is single-threaded, so one thread uses one core; on a
 * 2-core box two threads double the frames per second (at the cost of the other work on the
 * box: default 1, see vision.threads). Each frame goes to the thread with the least work queued.
 */
export class FacePool {
  private workers: FaceWorker[];
  private load: number[];

  constructor(o: FaceWorkerOptions, size: number) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => new FaceWorker(o));
    this.load = this.workers.map(() => 0);
  }

  get size(): number {
    return this.workers.length;
  }

  get info() {
    return this.workers[0]!.info;
  }

  get recycled(): number {
    return this.workers.reduce((a, w) => a + w.recycled, 0);
  }

  async start() {
    const infos = await Promise.all(this.workers.map((w) => w.start()));
    return infos[0]!;
  }

  async analyze(frame: RgbFrame, plan?: FramePlan): Promise<Analysis> {
    let i = 0;
    for (let j = 1; j < this.load.length; j++) if (this.load[j]! < this.load[i]!) i = j;
    this.load[i]!++;
    try {
      return await this.workers[i]!.analyze(frame, plan);
    } finally {
      this.load[i]!--;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
