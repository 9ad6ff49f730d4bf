import type { CheckinRepo } from '../../store/checkins.js';

/**
 * Unregistered ZKTeco serials that knocked (for `checkins terminals` and `checkins approve`),
 * gathered in memory and written once a second in one transaction.
 *
 * Why not one write per request: a knock comes from a client nobody has authenticated, and each
 * SQLite commit is an fsync on the event loop. Under a flood of invented serials (333 of them in
 * the hostile test) those fsyncs held the event loop for tens of seconds, and a terminal's
 * connection waited that long in the kernel's accept queue (measured: handshake done in 1 ms,
 * accepted 28 s later). Bounded: at most MAX_BUFFERED distinct serials per second and
 * MAX_PENDING awaiting approval in the table; the rest are counted and dropped.
 */
export class KnockBook {
  private buf = new Map<string, { protocol: string; serial: string; first: number; last: number; requests: number; address: string | null }>();
  private timer?: NodeJS.Timeout;
  private droppedSince = 0;

  constructor(
    private repo: CheckinRepo,
    private warn: (key: string, obj: object, msg: string) => void,
    private everyMs = 1000,
  ) {}

  knock(protocol: string, serial: string, at: number, address: string | null): void {
    const key = `${protocol}\n${serial}`;
    const k = this.buf.get(key);
    if (k) {
      k.last = Math.max(k.last, at);
      k.requests++;
      k.address = address ?? k.address;
    } else if (this.buf.size < MAX_BUFFERED) this.buf.set(key, { protocol, serial, first: at, last: at, requests: 1, address });
    else this.droppedSince++;
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.everyMs);
      this.timer.unref();
    }
  }

  /** Write what was gathered (also at stop). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buf.size) return;
    const rows = [...this.buf.values()];
    this.buf.clear();
    try {
      this.droppedSince += this.repo.knocks(rows, MAX_PENDING);
    } catch (err) {
      this.warn('knocks-failed', { err: (err as Error).message }, 'unregistered serials not recorded');
    }
    if (this.droppedSince) {
      this.warn('knocks-dropped', { dropped: this.droppedSince, maxPending: MAX_PENDING }, 'too many unregistered ZKTeco serials: knocks not recorded');
      this.droppedSince = 0;
    }
  }
}

const MAX_BUFFERED = 256;
const MAX_PENDING = 1000;
