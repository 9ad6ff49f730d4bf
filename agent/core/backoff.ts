/**
 * Exponential backoff with "equal jitter": the n-th consecutive failure waits between half and
 * all of min(max, initial·2^(n−1)). The one backoff of the agent: the recorder's ffmpeg restarts,
 * the sync client's reconnects (mqtt.js only has a fixed reconnectPeriod), the terminals' event
 * streams and a busy listening port all use it. Jitter keeps eight cameras behind one dead
 * switch, or thousands of boxes that lost the same broker, from returning in lockstep.
 */
export class Backoff {
  failures = 0;
  constructor(
    private initialMs: number,
    private maxMs: number,
    private random: () => number = Math.random,
  ) {}

  next(): number {
    this.failures++;
    const d = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(d / 2 + (this.random() * d) / 2);
  }

  reset(): void {
    this.failures = 0;
  }

  /** failures since the last reset (the sync client logs it as "attempts") */
  get attempts(): number {
    return this.failures;
  }
}
