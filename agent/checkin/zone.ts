/**
 * Zone offsets for check-in parsing, cached. core/time.ts builds an Intl.DateTimeFormat per call
 * (~0.3 ms): fine for a schedule, too slow for ATTLOG batches of thousands of rows. Offsets are
 * memoised per zone and UTC hour (zone transitions fall on whole hours in China and nearly
 * everywhere else).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const memo = new Map<string, number>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` at the instant `utcMs`, minutes east of UTC. */
export function offsetAt(utcMs: number, tz: string): number {
  const hour = Math.floor(utcMs / 3_600_000);
  const key = `${tz}\u0000${hour}`;
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const parts = formatter(tz).formatToParts(new Date(hour * 3_600_000));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const off = Math.round((asUtc - hour * 3_600_000) / 60000);
  if (memo.size > 100_000) memo.clear();
  memo.set(key, off);
  return off;
}

/** Wall-clock fields read in `tz` → UTC ms (same two-step as core/time fromWallClock). */
export function wallToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const off = offsetAt(guess, tz);
  const first = guess - off * 60000;
  const off2 = offsetAt(first, tz);
  return off2 === off ? first : guess - off2 * 60000;
}
