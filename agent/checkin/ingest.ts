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
  private inflight = new Set<Promise<void>>();
  /** transactions committed (tests check that requests share them) */
  commits = 0;

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
    if (this.timer) clearTimeout(this.timer), (this.timer = null);
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      let res: ReturnType<CheckinRepo['commitDurable']>;
      try {
        res = this.repo.commitDurable(batch.map((p) => p.item));
        this.commits++;
      } catch (err) {
        // nothing of this batch is on disk. One poisoned input must not fail the others forever:
        // commit them one by one; the one that still fails keeps at least its raw body.
        this.ctx.log.error({ err: (err as Error).message, n: batch.length }, 'check-in commit failed');
        if (batch.length > 1) {
          for (const p of batch) this.commitAlone(p);
          continue;
        }
        try {
          res = this.repo.commitRawOnly(batch[0].item, (err as Error).message);
          this.commits++;
        } catch (err2) {
          // the store itself refuses writes (disk full, I/O error): 5xx, the terminal retries
          batch[0].reject(err2);
          continue;
        }
      }
      this.settle(batch, res);
    }
  }

  private commitAlone(p: Pending): void {
    let res: ReturnType<CheckinRepo['commitDurable']>;
    try {
      res = this.repo.commitDurable([p.item]);
    } catch (err) {
      try {
        res = this.repo.commitRawOnly(p.item, (err as Error).message);
      } catch (err2) {
        return p.reject(err2);
      }
    }
    this.commits++;
    this.settle([p], res);
  }

  private settle(batch: Pending[], res: ReturnType<CheckinRepo['commitDurable']>): void {
    {
      const { outcomes, durable } = res;
      const done: Promise<void> = durable
        .then(
          () => {
            batch.forEach((p, i) => p.resolve(outcomes[i]));
            for (const o of outcomes) {
              for (const c of o.stored) this.ctx.bus.emit('checkin.stored', { id: c.id, terminal: c.terminal, trainee: c.trainee, at: c.at });
            }
          },
          (err: unknown) => {
            // committed but not known to be on disk: no ack; the terminal resends and dedupe absorbs it
            this.ctx.log.error({ err: (err as Error).message, n: batch.length }, 'WAL fsync failed');
            for (const p of batch) p.reject(err);
          },
        )
        .finally(() => this.inflight.delete(done));
      this.inflight.add(done);
    }
  }

  /** Commit what is queued, wait for its fsync, then refuse new input. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    this.repo.close();
  }
}
