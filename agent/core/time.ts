/**
 * Time is stored as UTC milliseconds and shown in Asia/Shanghai (or the box's configured
 * zone). Parsing of evidence timestamps is strict: ISO 8601 with an explicit offset or Z,
 * because a timestamp without a zone is ambiguous evidence.
 */
export const DEFAULT_TZ = 'Asia/Shanghai';

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Parse ISO 8601 with offset or Z; returns UTC ms or undefined. */
export function parseIsoStrict(s: unknown): number | undefined {
  if (typeof s !== 'string' || !ISO_WITH_ZONE.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
}

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

function exactOffset(utcMs: number, tz: string): number {
  const parts = formatter(tz).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60000);
}

/**
 * Offset of a zone at a given instant, in minutes east of UTC. The one zone-offset function of
 * the agent. Memoised per zone and UTC hour, because check-in batches (ZKTeco ATTLOG) ask it
 * for thousands of rows and Intl is slow (~0.3 ms a call); an hour whose two ends disagree
 * (a transition inside it, as Lord Howe's half-hour ones) is never memoised but computed exactly.
 */
export function zoneOffsetMinutes(utcMs: number, tz: string): number {
  const hour = Math.floor(utcMs / 3_600_000);
  const key = `${tz}\u0000${hour}`;
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const start = exactOffset(hour * 3_600_000, tz);
  if (exactOffset(hour * 3_600_000 + 3_599_000, tz) !== start) return exactOffset(utcMs, tz);
  if (memo.size > 100_000) memo.clear();
  memo.set(key, start);
  return start;
}

const ISO_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/;

/** The offset written at the end of an ISO 8601 time (`Z`, `+08:00`, `-0530`), minutes east of UTC; null without one. */
export function isoOffsetMinutes(iso: string): number | null {
  const m = ISO_OFFSET.exec(iso);
  if (!m) return null;
  if (m[1] === 'Z') return 0;
  const s = m[1].replace(':', '');
  const v = Number(s.slice(1, 3)) * 60 + Number(s.slice(3, 5));
  return s[0] === '-' ? -v : v;
}

/** Wall-clock fields of an instant in a zone. */
export function wallClock(utcMs: number, tz: string = DEFAULT_TZ) {
  const off = zoneOffsetMinutes(utcMs, tz);
  const d = new Date(utcMs + off * 60000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    offsetMinutes: off,
  };
}

/** Wall-clock time in a zone → UTC ms (zones without DST, or outside transitions, are exact). */
export function fromWallClock(w: { year: number; month: number; day: number; hour?: number; minute?: number; second?: number }, tz: string = DEFAULT_TZ): number {
  const guess = Date.UTC(w.year, w.month - 1, w.day, w.hour ?? 0, w.minute ?? 0, w.second ?? 0);
  const off = zoneOffsetMinutes(guess, tz);
  const first = guess - off * 60000;
  const off2 = zoneOffsetMinutes(first, tz);
  return off2 === off ? first : guess - off2 * 60000;
}

const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * Parse a schedule time: ISO with zone, or local "YYYY-MM-DD HH:MM[:SS]" read in `tz`
 * (school timetables are written in local time).
 */
export function parseLocalOrIso(s: unknown, tz: string = DEFAULT_TZ): number | undefined {
  const iso = parseIsoStrict(s);
  if (iso !== undefined) return iso;
  if (typeof s !== 'string') return undefined;
  const m = LOCAL_DATETIME.exec(s.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = fromWallClock({ year, month, day, hour, minute, second }, tz);
  const back = wallClock(ms, tz);
  return back.day === day && back.month === month ? ms : undefined;
}

/** ISO 8601 in a zone with its offset: 2025-10-08T08:00:00+08:00 */
export function formatIso(utcMs: number, tz: string = DEFAULT_TZ): string {
  const w = wallClock(utcMs, tz);
  const p = (n: number, l = 2) => String(n).padStart(l, '0');
  const off = w.offsetMinutes;
  const sign = off >= 0 ? '+' : '-';
  const ms = utcMs % 1000 === 0 ? '' : `.${p(((utcMs % 1000) + 1000) % 1000, 3)}`;
  return `${w.year}-${p(w.month)}-${p(w.day)}T${p(w.hour)}:${p(w.minute)}:${p(w.second)}${ms}${sign}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
}

/** Short local display: 2025-10-08 08:00 */
export function formatLocal(utcMs: number, tz: string = DEFAULT_TZ): string {
  return formatIso(utcMs, tz).slice(0, 16).replace('T', ' ');
}

/** Add calendar months in a zone's wall clock, clamping the day (Jan 31 + 1 month = Feb 28/29). */
export function addCalendarMonths(utcMs: number, months: number, tz: string = DEFAULT_TZ): number {
  const w = wallClock(utcMs, tz);
  const total = w.year * 12 + (w.month - 1) + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return fromWallClock({ ...w, year, month, day: Math.min(w.day, lastDay) }, tz) + (utcMs % 1000);
}

export function formatDuration(seconds: number, lang: 'zh' | 'en' = 'en'): string {
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  const r = s % 60;
  if (lang === 'zh') return r ? `${m}分${r}秒` : `${m}分钟`;
  return r ? `${m} min ${r} s` : `${m} min`;
}
