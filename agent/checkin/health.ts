import type { AgentContext } from '../core/context.js';
import { AlarmRepo } from '../store/alarms.js';
import { ClassRepo } from '../store/classes.js';
import type { CheckinRepo } from '../store/checkins.js';
import type { Terminals } from './terminals.js';
import { CLOCK_ALARM, SKEW_WARN_MS } from './clock.js';

export const QUIET_ALARM = 'terminal-quiet';

/**
 * Terminal health: every tick, each enabled terminal's last contact (event, heartbeat, poll,
 * stream bytes) is compared with the lessons on now. A terminal silent for quietMinutes while a
 * lesson runs raises `terminal-quiet` (trainees arriving late cannot check in); contact clears it.
 * Outside lessons silence is normal (terminals sleep, schools switch them off).
 */
export class TerminalHealth {
  private timer?: NodeJS.Timeout;
  private alarms: AlarmRepo;
  private classes: ClassRepo;

  constructor(
    private ctx: AgentContext,
    private repo: CheckinRepo,
    private terminals: Terminals,
  ) {
    this.alarms = new AlarmRepo(ctx.store);
    this.classes = new ClassRepo(ctx.store);
  }

  start(): void {
    this.timer = setInterval(() => {
      try {
        const n = this.repo.remapUnknown();
        if (n) this.ctx.log.info({ matched: n }, 'earlier check-ins of unknown people matched to the roster');
        this.check();
      } catch (err) {
        this.ctx.log.error({ err: (err as Error).message }, 'terminal health check failed');
      }
    }, this.ctx.cfg.checkin.healthIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass; returns the terminals found quiet (for tests and the CLI). */
  check(now: number = this.ctx.now()): string[] {
    const quietMs = this.ctx.cfg.checkin.quietMinutes * 60_000;
    const lessons = this.classes.lessonsBetween(now, now + 1);
    const quiet: string[] = [];
    for (const t of this.terminals.list.filter((x) => x.enabled)) {
      const st = this.repo.state(t.id);
      const last = Math.max(st?.last_contact_ms ?? 0, st?.last_event_ms ?? 0, st?.last_heartbeat_ms ?? 0);
      // a lying clock: alarmed at any size, with the skew; cleared once its punches are on time again
      const flagged = this.repo.flaggedSince(t.id, now - 24 * 3600_000);
      if ((st?.skew_ms != null && Math.abs(st.skew_ms) > SKEW_WARN_MS) || flagged) {
        const msg =
          st?.skew_ms != null && Math.abs(st.skew_ms) > SKEW_WARN_MS
            ? `terminal ${t.id} clock off by ${Math.round(st.skew_ms / 1000)} s (${(st.skew_ms / 3600_000).toFixed(2)} h): check-in times are wrong; set its time/zone`
            : `terminal ${t.id} sent ${flagged} check-ins with implausible times in the last day (classroom-agent checkins unknown)`;
        if (this.alarms.raise(CLOCK_ALARM, t.id, msg, now)) this.ctx.bus.emit('alarm.raised', { kind: CLOCK_ALARM, subject: t.id, message: 'terminal clock wrong', at: now });
      } else if (this.alarms.clear(CLOCK_ALARM, t.id, now)) {
        this.ctx.bus.emit('alarm.cleared', { kind: CLOCK_ALARM, subject: t.id, at: now });
      }
      // a lesson counts once it has run for quietMinutes: silence before it started is not its problem
      const during = lessons.some((l) => now - Math.max(l.start, last) >= quietMs);
      if (during && now - last >= quietMs) {
        quiet.push(t.id);
        const mins = last ? Math.round((now - last) / 60_000) : null;
        if (this.alarms.raise(QUIET_ALARM, t.id, mins === null ? `terminal ${t.id} never heard from during a lesson` : `terminal ${t.id} silent for ${mins} min during a lesson`, now)) {
          this.ctx.bus.emit('alarm.raised', { kind: QUIET_ALARM, subject: t.id, message: 'terminal quiet during a lesson', at: now });
        }
      } else if (now - last < quietMs) {
        if (this.alarms.clear(QUIET_ALARM, t.id, now)) this.ctx.bus.emit('alarm.cleared', { kind: QUIET_ALARM, subject: t.id, at: now });
      }
    }
    return quiet;
  }
}
