import type { Logger } from 'pino';
import type { AgentContext } from '../core/context.js';
import { logger } from '../core/log.js';
import type { Module } from '../core/module.js';
import { ChainRepo } from '../store/chain.js';
import { Outbox } from '../store/outbox.js';

/** How often the chain head goes to the provincial system (an anchor the box cannot rewrite). */
const HEAD_EVERY_MS = 10 * 60_000;

/**
 * Keeps the evidence hash chain (store/chain.ts) up to date: links new segments, check-ins,
 * sightings and verdicts shortly after they are stored, and sends the chain head to the
 * provincial system every 10 minutes when it moved. Tampering with a stored row, or removing an
 * unexpired one, then shows in `classroom-agent doctor` (evidence-chain) and centrally.
 */
export class EvidenceChain implements Module {
  readonly name = 'evidence-chain';
  private log: Logger = logger('chain');
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private lastHeadSent = 0;
  private lastHeadSeq = 0;
  private repo!: ChainRepo;

  constructor(private ctx: AgentContext) {}

  async start(): Promise<void> {
    this.repo = new ChainRepo(this.ctx.store);
    const bump = () => this.schedule();
    this.ctx.bus.on(this, 'segment.indexed', bump);
    this.ctx.bus.on(this, 'checkin.stored', bump);
    this.ctx.bus.on(this, 'sightings.stored', bump);
    this.ctx.bus.on(this, 'verdict.computed', bump);
    this.timer = setInterval(() => this.sweep(), 60_000);
    this.timer.unref();
    this.sweep();
  }

  async stop(): Promise<void> {
    this.ctx.bus.removeListeners(this);
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = undefined;
    this.sweep(); // link what arrived last, before the store closes
  }

  private schedule(): void {
    if (this.soon || !this.timer) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.sweep();
    }, 1000);
    this.soon.unref();
  }

  /** Link everything not yet linked (in batches); send the head when due. Public for tests. */
  sweep(): number {
    let total = 0;
    try {
      for (let n = this.repo.append(); n > 0; n = this.repo.append()) total += n;
      const head = this.repo.head();
      const now = this.ctx.now();
      if (head && head.seq !== this.lastHeadSeq && now - this.lastHeadSent >= HEAD_EVERY_MS) {
        this.ctx.store.tx(() => new Outbox(this.ctx.store).enqueue('chain-head', now, { seq: head.seq, hash: head.hash }));
        this.lastHeadSent = now;
        this.lastHeadSeq = head.seq;
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'evidence chain update failed');
    }
    return total;
  }
}
