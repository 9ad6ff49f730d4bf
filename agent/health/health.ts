import fs from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { AgentContext } from '../core/context.js';
import { logger } from '../core/log.js';
import type { Module } from '../core/module.js';

export interface HealthSample {
  uptimeSeconds: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  /** open file descriptors (Linux); -1 where /proc is missing */
  fds: number;
  /** event-loop delay since the last sample: a stalled loop delays check-in answers and segment indexing */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

function openFds(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

export function healthSample(loop?: IntervalHistogram): HealthSample {
  const m = process.memoryUsage();
  return {
    uptimeSeconds: Math.round(process.uptime()),
    rssMb: mb(m.rss),
    heapUsedMb: mb(m.heapUsed),
    externalMb: mb(m.external),
    arrayBuffersMb: mb(m.arrayBuffers),
    fds: openFds(),
    loopDelayP99Ms: loop ? Math.round(loop.percentile(99) / 1e4) / 100 : 0,
    loopDelayMaxMs: loop ? Math.round(loop.max / 1e4) / 100 : 0,
  };
}

/**
 * One `health` log line every log.healthSeconds: the process's memory, descriptors and
 * event-loop delay. A box runs for years unattended; these lines are how a technician (and the
 * soak bench) sees a slow leak or a wedged loop in `journalctl` long before it hurts.
 * RSS includes the vision worker threads (one process); heapUsed is the daemon thread's alone.
 */
export class Health implements Module {
  readonly name = 'health';
  private timer?: NodeJS.Timeout;
  private loop?: IntervalHistogram;
  private log = logger('health');

  constructor(private ctx: AgentContext) {}

  async start(): Promise<void> {
    const seconds = this.ctx.cfg.log.healthSeconds;
    if (!seconds) return;
    // 100 ms: stalls that matter (a check-in answer, a segment index) are longer; finer costs wakeups all day
    this.loop = monitorEventLoopDelay({ resolution: 100 });
    this.loop.enable();
    this.timer = setInterval(() => this.report(), seconds * 1000);
    this.timer.unref();
  }

  report(): HealthSample {
    const s = healthSample(this.loop);
    this.loop?.reset();
    this.log.info(s, 'health');
    return s;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.loop?.disable();
  }
}
