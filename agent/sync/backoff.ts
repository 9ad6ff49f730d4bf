/**
 * Exponential backoff with "equal jitter" (half fixed, half random), capped. mqtt.js only has a
 * fixed reconnectPeriod (notes/sync.md §4), so the sync client schedules reconnects itself.
 * Jitter spreads thousands of boxes that lost the same broker so they do not return at once.
 */
export class Backoff {
  private attempt = 0;
  constructor(
    private minMs: number,
    private maxMs: number,
    private random: () => number = Math.random,
  ) {}

  next(): number {
    const exp = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(exp / 2 + (this.random() * exp) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
