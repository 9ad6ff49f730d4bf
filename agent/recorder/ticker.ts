/**
 * One timer for all of the recorder's periodic checks (each camera's watchdog, the adopted
 * ffmpegs' liveness, the timetable's change poll). Why shared: on a box recording a 1 %-of-a-core
 * stream, what the agent costs per second is mostly how often node wakes up (measured: an idle
 * node woken twice a second costs about 1 ms of CPU per second under load, as much as hashing
 * every recorded byte), not the work done when awake. One wake-up per tick, whatever the number
 * of cameras.
 */
export class Ticker {
  private readonly fns = new Set<() => void>();
  private timer?: NodeJS.Timeout;

  constructor(
    readonly ms: number,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  /** Call `fn` every tick until the returned function is called. */
  add(fn: () => void): () => void {
    this.fns.add(fn);
    this.timer ??= setInterval(() => {
      for (const f of [...this.fns]) {
        try {
          f();
        } catch (err) {
          this.onError(err as Error);
        }
      }
    }, this.ms);
    return () => {
      this.fns.delete(fn);
      if (!this.fns.size && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }
}

/**
 * The tick of a recorder whose watchdog must notice a silent stream within `stallSeconds`: a
 * fifth of it, at most 2 s (the default 10 s gives one wake-up every 2 s for all cameras), so
 * the silence threshold (stallSeconds − 2 ticks) stays well above the 1 s fragments.
 */
export const recorderTickMs = (stallSeconds: number) => Math.max(250, Math.min(2000, Math.round((stallSeconds * 1000) / 5)));
