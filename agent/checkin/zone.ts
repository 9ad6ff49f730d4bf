import { zoneOffsetMinutes } from '../core/time.js';

/** Zone offsets for check-in parsing: core/time.ts's (memoised there for ATTLOG batches). */
export const offsetAt = zoneOffsetMinutes;

/** Wall-clock fields read in `tz` → UTC ms (same two-step as core/time fromWallClock). */
export function wallToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const off = offsetAt(guess, tz);
  const first = guess - off * 60000;
  const off2 = offsetAt(first, tz);
  return off2 === off ? first : guess - off2 * 60000;
}
