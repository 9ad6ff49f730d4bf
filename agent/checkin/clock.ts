/**
 * How far a terminal's clock may be from the box's before it is reported, and which claimed
 * times cannot be right. One place, read by the intake, `checkins terminals|unknown`, the
 * health alarm and `doctor`, so they never disagree about the same terminal.
 */

/** A terminal clock further off than this is reported and alarmed (some firmware stamps whole minutes). */
export const SKEW_WARN_MS = 60_000;
/** A punch stamped more than this after it reached the box is in the future: the clock is wrong. */
export const FUTURE_MS = SKEW_WARN_MS;
/**
 * A punch older than this when it arrives is not a backlog the terminal kept through an outage
 * (terminals keep weeks, not years): 2000-01-01 after a flat RTC battery, a factory default.
 */
export const ANCIENT_MS = 366 * 24 * 3600_000;

export type TimeFlag = 'future' | 'ancient';

/** Is the claimed time implausible given when the box received it? */
export function timeFlag(atMs: number, receivedMs: number): TimeFlag | null {
  if (atMs > receivedMs + FUTURE_MS) return 'future';
  if (atMs < receivedMs - ANCIENT_MS) return 'ancient';
  return null;
}

/** Expiry counts from the later of the claimed and the received time: a lying clock cannot shorten retention. */
export function retentionBase(atMs: number, receivedMs: number): number {
  return Math.max(atMs, receivedMs);
}

export const CLOCK_ALARM = 'terminal-clock';
