import { describe, expect, it } from 'vitest';
import { fromWallClock, isoOffsetMinutes, zoneOffsetMinutes } from '../core/time.js';
import { wallToUtc } from './zone.js';

/** The offset straight from Intl, no memo: what the memoised function must always equal. */
function reference(utcMs: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return Math.round((Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(utcMs / 1000) * 1000) / 60000);
}

describe('the one zone-offset function', () => {
  it('equals Intl at every instant, across DST and half-hour transitions (memo per hour never lies)', () => {
    for (const tz of ['Asia/Shanghai', 'Europe/London', 'America/New_York', 'Asia/Kolkata', 'UTC', 'Australia/Lord_Howe']) {
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 7 * 3_600_000 + 13 * 60_000) {
        expect(zoneOffsetMinutes(t, tz)).toBe(reference(t, tz));
      }
      for (const [mo, d, h] of [
        [3, 29, 1],
        [3, 8, 2],
        [10, 25, 1],
        [11, 1, 1],
        [6, 15, 12],
      ]) {
        expect(wallToUtc(2026, mo, d, h, 30, 0, tz)).toBe(fromWallClock({ year: 2026, month: mo, day: d, hour: h, minute: 30, second: 0 }, tz));
      }
    }
    // Lord Howe leaves DST on 2026-04-05 at 02:00 local (+11:00) = 15:00 UTC on the 4th, and
    // enters it on 2026-10-04 at 02:00 local (+10:30) = 15:30 UTC on the 3rd: inside an hour
    for (let t = Date.UTC(2026, 9, 3, 14, 0); t < Date.UTC(2026, 9, 3, 17, 0); t += 60_000) {
      expect(zoneOffsetMinutes(t, 'Australia/Lord_Howe')).toBe(reference(t, 'Australia/Lord_Howe'));
    }
  });

  it('reads the offset written in an ISO time', () => {
    expect(isoOffsetMinutes('2026-03-01T08:00:00+08:00')).toBe(480);
    expect(isoOffsetMinutes('2026-03-01T08:00:00-0530')).toBe(-330);
    expect(isoOffsetMinutes('2026-03-01T08:00:00Z')).toBe(0);
    expect(isoOffsetMinutes('2026-03-01T08:00:00')).toBeNull();
  });
});
