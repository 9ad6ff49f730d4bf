/**
 * Canonical JSON for log entries: object keys sorted by UTF-16 code units, no whitespace, numbers
 * as ECMAScript prints them (RFC 8785 JCS for the values entries hold: strings, finite numbers,
 * booleans, null, arrays, objects). The same fact always gives the same bytes, so the same leaf.
 *
 * why hand-written: 20 lines; JSON.stringify already is JCS for these values except key order.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('canonical JSON: non-finite number');
    return JSON.stringify(v);
  }
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (Buffer.isBuffer(v)) throw new Error('canonical JSON: bytes must be hashed or encoded first');
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  throw new Error(`canonical JSON: unsupported ${typeof v}`);
}

/** One log entry, as its canonical bytes say it. */
export interface Entry {
  v: 1;
  /** fact kind: checkin, raw-input, segment, gap, sighting, verdict, alarm, class, trainee, ... */
  k: string;
  /** when the box learnt the fact (UTC ms, box clock) */
  t: number;
  /** the index row it stands for: JSON [table, key...] */
  r?: string;
  /** the earlier entry (leaf index) this one corrects or supersedes */
  c?: number;
  /** when retention may purge the fact */
  x?: number | null;
  /** the fact; null for a removal (tombstone) */
  d: unknown;
}

export const entryBytes = (e: Entry): Buffer => Buffer.from(canonicalJson(e), 'utf8');

export function parseEntry(b: Uint8Array): Entry {
  const e = JSON.parse(Buffer.from(b).toString('utf8')) as Entry;
  if (!e || e.v !== 1 || typeof e.k !== 'string' || typeof e.t !== 'number') throw new Error('not a v1 log entry');
  return e;
}
