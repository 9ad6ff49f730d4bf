import { hash } from 'node:crypto';

/**
 * Canonical JSON for log entries: object keys sorted by UTF-16 code units, no whitespace, numbers
 * as ECMAScript prints them (RFC 8785 JCS for the values entries hold: strings, finite numbers,
 * booleans, null, arrays, objects). The same fact always gives the same bytes, so the same leaf.
 *
 * why hand-written: 20 lines; JSON.stringify already is JCS for these values except key order.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof CanonicalText) return v.json;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('canonical JSON: non-finite number');
    return JSON.stringify(v);
  }
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return isFlat(v) ? JSON.stringify(v) : `[${v.map(canonicalJson).join(',')}]`;
  if (Buffer.isBuffer(v)) throw new Error('canonical JSON: bytes must be hashed or encoded first');
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (isFlatSorted(o)) return JSON.stringify(o);
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  throw new Error(`canonical JSON: unsupported ${typeof v}`);
}

/**
 * True when JSON.stringify already gives the canonical form: every value a string, finite number,
 * boolean, null or undefined, and the keys, in the order JSON.stringify walks them, already sorted.
 * why: a row's projection (the bulk of every entry) is built in sorted key order, and the general
 * path's sort and per-key stringify were a third of the log's cost per check-in (bench evidence).
 */
function isFlatSorted(o: Record<string, unknown>): boolean {
  let prev = '';
  for (const k in o) {
    if (k < prev) return false;
    prev = k;
    const x = o[k];
    const t = typeof x;
    if (t === 'number') {
      if (!Number.isFinite(x)) return false;
    } else if (x !== null && t !== 'string' && t !== 'boolean' && t !== 'undefined') return false;
  }
  return true;
}

/** True when every item is a string, finite number, boolean or null: JSON.stringify is canonical (a batch entry's rows). */
function isFlat(a: readonly unknown[]): boolean {
  for (const x of a) {
    const t = typeof x;
    if (t === 'number') {
      if (!Number.isFinite(x)) return false;
    } else if (x !== null && t !== 'string' && t !== 'boolean') return false;
  }
  return true;
}

/**
 * JSON text its builder already wrote in canonical form (a batch of check-ins, evidence-log.ts
 * batchJson): canonicalJson writes it as it is. why: the batch is most of a request's entry, and
 * walking it as objects (arrays per row, then per-row stringify) was a third of the log's CPU on
 * the intake (bench evidence); its builder writes it in one pass and one JSON.stringify. Whoever
 * builds one must hold it equal to canonicalJson of the same value in a test.
 */
export class CanonicalText {
  constructor(readonly json: string) {}
  toJSON(): unknown {
    return JSON.parse(this.json);
  }
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
  /**
   * check-ins carried by a raw input's entry: those its request gave, `{ cols, rows }` as in a
   * `checkins` entry (evidence-log.ts BATCH_KIND)
   */
  b?: unknown;
}

/**
 * canonicalJson(e), written out for the entry's fixed keys in their sorted order (b c d k r t v x):
 * the append path runs this for every fact (canonical.test.ts holds it equal to canonicalJson).
 */
export function entryJson(e: Entry): string {
  let s = '{';
  if (e.b !== undefined) s += `"b":${canonicalJson(e.b)},`;
  if (e.c !== undefined) s += `"c":${canonicalJson(e.c)},`;
  s += `"d":${canonicalJson(e.d)},"k":${JSON.stringify(e.k)},`;
  if (e.r !== undefined) s += `"r":${JSON.stringify(e.r)},`;
  s += `"t":${canonicalJson(e.t)},"v":${canonicalJson(e.v)}`;
  if (e.x !== undefined) s += `,"x":${canonicalJson(e.x)}`;
  return `${s}}`;
}

export const entryBytes = (e: Entry): Buffer => Buffer.from(entryJson(e), 'utf8');

/**
 * The entry's bytes and its RFC 9162 leaf hash, SHA-256(0x00 || bytes), from one buffer: the
 * append path's (one allocation, one one-shot hash instead of a Hash object per entry).
 */
export function entryWithLeaf(e: Entry): { bytes: Buffer; leaf: Buffer } {
  const b = Buffer.from(`\u0000${entryJson(e)}`, 'utf8');
  return { bytes: b.subarray(1), leaf: hash('sha256', b, 'buffer') };
}

export function parseEntry(b: Uint8Array): Entry {
  const e = JSON.parse(Buffer.from(b).toString('utf8')) as Entry;
  if (!e || e.v !== 1 || typeof e.k !== 'string' || typeof e.t !== 'number') throw new Error('not a v1 log entry');
  return e;
}
