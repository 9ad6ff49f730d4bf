import type { AgentContext } from '../core/context.js';
import { CheckinRepo, type IntakeItem } from '../store/checkins.js';
import type { IngestOutcome } from './types.js';

interface Pending {
  item: IntakeItem;
  resolve: (o: IngestOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit. Requests arriving within `windowMs` (or while the previous commit runs) are
 * written in one transaction, and each caller is answered after that commit. With
 * synchronous=FULL every commit is an fsync; batching turns N fsyncs into one, which is what
 * makes thousands of durable check-ins per second possible on a mini-PC's disk.
 */
export class Ingest {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  readonly repo: CheckinRepo;
  private closed = false;

  constructor(
    private ctx: AgentContext,
    private windowMs = 2,
    private maxBatch = 512,
  ) {
    this.repo = new CheckinRepo(ctx.store);
  }

  submit(item: IntakeItem): Promise<IngestOutcome> {
    if (this.closed) return Promise.reject(new Error('intake closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.windowMs);
    });
  }

  flush(): void {
    if (this.timer) (clearTimeout(this.timer), (this.timer = null));
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      let out: IngestOutcome[];
      try {
        out = this.repo.commit(batch.map((p) => p.item));
      } catch (err) {
        // nothing of this batch is on disk: every caller answers 5xx and the terminal retries
        this.ctx.log.error({ err: (err as Error).message, n: batch.length }, 'check-in commit failed');
        for (const p of batch) p.reject(err);
        continue;
      }
      batch.forEach((p, i) => p.resolve(out[i]));
      for (const o of out) {
        for (const c of o.stored) this.ctx.bus.emit('checkin.stored', { id: c.id, terminal: c.terminal, trainee: c.trainee, at: c.at });
      }
    }
  }

  /** Commit what is queued, then refuse new input. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
