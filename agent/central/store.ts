import type { WireRecord } from '../sync/contract.js';
import type { BatchResult } from './db.js';

/**
 * What the receiver needs of its database: the reference SQLite file (`CentralDb`, one host, the
 * demo) or PostgreSQL (`PgCentralDb`, several receiver instances on several hosts). Methods may
 * answer at once or later; the receiver awaits them before it acks.
 */
export interface CentralStore {
  storeBatch(box: string, floor: number, records: readonly WireRecord[], now: number, check: (r: WireRecord, joined?: boolean) => string, withRows?: boolean): BatchResult | Promise<BatchResult>;
  claimGaps(now: number, timeoutMs: number): Array<{ box: string; from: number }> | Promise<Array<{ box: string; from: number }>>;
  setStatus(box: string, state: string, session: number, at: number, now: number, versions?: { contract?: string; agentVersion?: string; backlog?: number }): boolean | Promise<boolean>;
  /** A `segment` record this box sent with this SHA-256 (what a clip's manifest is checked against). */
  segmentBySha(box: string, sha256: string): SegmentData | undefined | Promise<SegmentData | undefined>;
  close(): void | Promise<void>;
}

export interface SegmentData {
  camera: string;
  start: number;
  end: number;
  sha256: string;
}

/** A PostgreSQL URL selects PostgreSQL; anything else is the SQLite file's path. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

export interface PartLike {
  of?: unknown;
  type?: unknown;
  index?: unknown;
  count?: unknown;
  text?: unknown;
}

/**
 * Join the parts of one record (contract v1.1 `part`), given the `count` records that end with
 * its last part, in sequence order. Returns the whole record's data, or the reason it does not
 * join. Shared by both databases, so both judge a part set alike.
 */
export function joinParts(last: PartLike, parts: readonly PartLike[]): { data: unknown } | { error: string } {
  const count = Number(last.count);
  if (parts.length !== count || parts.some((x, i) => x.of !== last.of || x.type !== last.type || x.index !== i || typeof x.text !== 'string')) {
    return { error: `parts of ${String(last.of)} are not the ${count} consecutive records before it` };
  }
  try {
    return { data: JSON.parse(parts.map((x) => x.text as string).join('')) };
  } catch {
    return { error: `the joined parts of ${String(last.of)} are not JSON` };
  }
}

/** Whether a stored part record is the last of its record (then the record can be joined). */
export function isLastPart(p: PartLike): boolean {
  return typeof p.of === 'string' && typeof p.count === 'number' && p.index === p.count - 1;
}
