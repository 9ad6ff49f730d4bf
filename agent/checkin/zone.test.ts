import { describe, expect, it } from 'vitest';
import { fromWallClock, zoneOffsetMinutes } from '../core/time.js';
import { offsetAt, wallToUtc } from './zone.js';

describe('cached zone offsets', () => {
  it('agree with core/time across a year, DST zones included', () => {
    for (const tz of ['Asia/Shanghai', 'Europe/London', 'America/New_York', 'Asia/Kolkata', 'UTC']) {
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 7 * 3_600_000 + 13 * 60_000) {
        expect(offsetAt(t, tz)).toBe(zoneOffsetMinutes(t, tz));
      }
      for (const [mo, d, h] of [[3, 29, 1], [3, 8, 2], [10, 25, 1], [11, 1, 1], [6, 15, 12]]) {
        expect(wallToUtc(2026, mo, d, h, 30, 0, tz)).toBe(fromWallClock({ year: 2026, month: mo, day: d, hour: h, minute: 30, second: 0 }, tz));
      }
    }
  });
});
