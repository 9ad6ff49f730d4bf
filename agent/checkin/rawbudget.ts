import type { AgentContext } from '../core/context.js';
import { AlarmRepo } from '../store/alarms.js';
import { RetentionRepo } from '../store/retention.js';

export const RAW_BUDGET_ALARM = 'raw-input-budget';

/**
 * The raw inputs' size budget. Raw bodies are kept for the evidence retention (3 years), so a
 * client knowing one ZKTeco serial could fill the disk with them (309 MB in 6 s was measured
 * before bodies were minimised). Their size is followed incrementally (only rows newer than the
 * last look are summed; a full sum once an hour catches what retention purged) and an alarm is
 * raised above checkin.rawBudgetBytes, cleared below it. Nothing is deleted: raw inputs are
 * evidence; the alarm tells the operator to look at who sends so much.
 */
export class RawBudget {
  private timer?: NodeJS.Timeout;
  private bytes = 0;
  private lastId = 0;
  private fullAt = 0;
  private repo: RetentionRepo;
  private alarms: AlarmRepo;

  constructor(
    private ctx: AgentContext,
    private budget: number,
    private everyMs: number,
  ) {
    this.repo = new RetentionRepo(ctx.store);
    this.alarms = new AlarmRepo(ctx.store);
  }

  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Bytes of raw bodies kept, as of the last check. */
  get used(): number {
    return this.bytes;
  }

  check(): void {
    const now = this.ctx.now();
    try {
      if (!this.fullAt || now - this.fullAt >= 3_600_000 || now < this.fullAt) {
        const all = this.repo.rawInputBytes(0);
        this.bytes = all.bytes;
        this.lastId = all.maxId;
        this.fullAt = now;
      } else {
        const add = this.repo.rawInputBytes(this.lastId);
        this.bytes += add.bytes;
        this.lastId = Math.max(this.lastId, add.maxId);
      }
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'raw input size not measured');
      return;
    }
    const mb = (n: number) => Math.round(n / 1_048_576);
    if (this.bytes > this.budget) {
      const msg = `签到原始数据 ${mb(this.bytes)} MB，超过预算 ${mb(this.budget)} MB：请检查哪个终端发送了大量数据 / raw check-in inputs use ${mb(this.bytes)} MB, over the ${mb(this.budget)} MB budget: check which terminal sends so much (classroom-agent checkins raw)`;
      if (this.alarms.raise(RAW_BUDGET_ALARM, 'checkin', msg, now)) {
        this.ctx.log.warn({ bytes: this.bytes, budget: this.budget }, 'raw input budget exceeded');
        this.ctx.bus.emit('alarm.raised', { kind: RAW_BUDGET_ALARM, subject: 'checkin', message: msg, at: now });
      }
    } else if (this.alarms.clear(RAW_BUDGET_ALARM, 'checkin', now)) {
      this.ctx.bus.emit('alarm.cleared', { kind: RAW_BUDGET_ALARM, subject: 'checkin', at: now });
    }
  }
}
