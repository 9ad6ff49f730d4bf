import { hash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Store } from './store.js';
import { CanonicalText, canonicalJson, entryWithLeaf, parseEntry, type Entry } from '../evidence/canonical.js';
import { consistencyProof, hashChildren, inclusionProof, memoryTree, rootOf, type NodeSource } from '../evidence/merkle.js';

/**
 * The evidential tables and what of each row is evidence. Bookkeeping columns (sync_state, a raw
 * input's parse status, created_ms) change legitimately and are
 * left out; everything a verdict or an auditor reads is in. A raw input's body enters as its
 * SHA-256 (the bytes stay in the table; the log needs only their digest).
 */
export const FACTS = {
  raw_inputs: { kind: 'raw-input', key: ['id'], cols: ['protocol', 'terminal', 'channel', 'method', 'path', 'content_type', 'body_bytes', 'truncated', 'received_ms'], digest: 'body' },
  checkins: { kind: 'checkin', key: ['id'], cols: ['dedup_key', 'terminal', 'person', 'trainee', 'class_id', 'at_ms', 'tz_offset_min', 'verify_mode', 'similarity', 'raw_id'] },
  // remap and reparse: a new fact pointing at the check-in, never an edit of it
  checkin_corrections: { kind: 'checkin-correction', key: ['id'], cols: ['checkin_id', 'reason', 'trainee', 'class_id', 'voided', 'raw_id', 'note', 'created_ms'] },
  recordings: { kind: 'segment', key: ['id'], cols: ['camera', 'run_id', 'path', 'start_ms', 'end_ms', 'bytes', 'sha256', 'recovered', 'archived_ms', 'deleted_ms'] },
  // what a cut file (a segment the recorder found cut off) held and lost: the file stays as evidence
  recording_cuts: { kind: 'cut', key: ['id'], cols: ['camera', 'run_id', 'path', 'bytes', 'sha256', 'complete_bytes', 'fragments', 'repaired_path', 'found_ms', 'deleted_ms'] },
  recording_gaps: { kind: 'gap', key: ['id'], cols: ['camera', 'start_ms', 'end_ms', 'reason', 'detail'] },
  sightings: { kind: 'sighting', key: ['id'], cols: ['trainee', 'class_id', 'camera', 'at_ms', 'recording_id', 'offset_ms', 'distance', 'margin'] },
  face_matches: { kind: 'face-match', key: ['id'], cols: ['class_id', 'lesson_id', 'trainee', 'camera', 'at_ms', 'recording_id', 'offset_ms', 'distance', 'margin'] },
  vision_frames: { kind: 'frame', key: ['id'], cols: ['camera', 'at_ms', 'recording_id', 'offset_ms', 'class_id', 'lesson_id', 'faces', 'matched', 'unknown'] },
  verdicts: { kind: 'verdict', key: ['id'], cols: ['class_id', 'lesson_id', 'eligible', 'body', 'computed_ms'] },
  alarms: { kind: 'alarm', key: ['id'], cols: ['kind', 'subject', 'message', 'raised_ms', 'cleared_ms'] },
  classes: { kind: 'class', key: ['id'], cols: ['profile', 'room', 'name', 'workstations', 'satisfaction'] },
  trainees: { kind: 'trainee', key: ['class_id', 'id'], cols: ['name', 'terminal_ids', 'has_previous', 'previous_assessed_ms'] },
  teachers: { kind: 'teacher', key: ['class_id', 'id'], cols: ['name', 'certified'] },
  lessons: { kind: 'lesson', key: ['class_id', 'id'], cols: ['kind', 'start_ms', 'end_ms', 'cameras', 'make_up', 'room'] },
  // who looked at or took away what, through the console (60号: supervision leaves a trace too)
  console_access: { kind: 'access', key: ['id'], cols: ['at_ms', 'user', 'role', 'action', 'subject', 'remote', 'outcome'] },
  face_consents: { kind: 'consent', key: ['trainee'], cols: ['given_ms', 'recorded_by', 'method', 'guardian', 'note', 'revoked_ms'] },
} as const satisfies Record<string, { kind: string; key: readonly string[]; cols: readonly string[]; digest?: string }>;

export type FactTable = keyof typeof FACTS;
export const FACT_TABLES = Object.keys(FACTS) as FactTable[];
/** tables without an expires_ms column (kept until a human withdraws them) */
const NO_EXPIRY = new Set<FactTable>(['face_consents']);

export const refOf = (table: FactTable, key: readonly unknown[]) => JSON.stringify([table, ...key]);

/** The ref of the adoption entries (which tables' earlier rows the log has taken in). */
export const ADOPTION_REF = JSON.stringify(['adoption']);

/** What an `adoption` entry holds. */
export interface Adoption {
  /** the evidential tables this adoption closed: from now on, an unlogged row there is forged */
  tables: string[];
  /** rows adopted per table (each an `adopted` entry) */
  rows: Record<string, number>;
  at: number;
}

// each table's evidential columns in sorted order: a projection built in this order is canonical
// JSON as JSON.stringify writes it (canonical.ts's fast path)
const SORTED = new Map<FactTable, Array<{ col: string; digest: boolean }>>(
  FACT_TABLES.map((t) => {
    const f = FACTS[t];
    const cols: Array<{ col: string; digest: boolean }> = f.cols.map((c) => ({ col: c, digest: false }));
    if ('digest' in f) cols.push({ col: f.digest, digest: true });
    const name = (c: { col: string; digest: boolean }) => (c.digest ? `${c.col}_sha256` : c.col);
    return [t, cols.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0))];
  }),
);

/** The evidence of one row, as its log entry holds it (the same function serves append and verify). */
export function projectRow(table: FactTable, row: Record<string, unknown>): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (const c of SORTED.get(table)!) {
    if (!c.digest) d[c.col] = row[c.col] ?? null;
    else {
      const b = row[c.col] as Buffer | null | undefined;
      d[`${c.col}_sha256`] = b ? hash('sha256', b, 'hex') : null;
    }
  }
  return d;
}

/**
 * Check-ins of one intake request share ONE log entry: the request's raw-input entry carries them
 * in its field `b` (`{ cols, rows, same }`: the column names, and per check-in its id, its evidential
 * columns as projectRow gives them, its expiry; `same` holds once the columns every check-in of
 * the entry shares, and is absent when none is shared). Check-ins a re-read of a raw input adds
 * (`checkins reparse`) come as one entry of kind `checkins` (ref `["checkins-of", rawId]`, the
 * same `{ cols, rows }` as data). why: one entry per check-in was one canonical JSON, SHA-256,
 * INSERT and ref-index entry each, 12-24 % of durable check-ins/s (bench evidence); per request it
 * is one of each. Each check-in stays individually verifiable: verify compares every member with
 * its row (and finds a row's entry through its raw_id), a bundle carries the entry with its
 * inclusion proof and names the members it attests. A check-in logged row by row (`row`,
 * adoption) keeps its own entry.
 */
export const BATCH_KIND = 'checkins';
export const batchRef = (rawId: unknown) => JSON.stringify(['checkins-of', rawId]);
const BATCH_COLS = ['id', ...SORTED.get('checkins')!.map((c) => c.col), 'expires_ms'];

/** One check-in as its batch entry holds it. */
export interface BatchMember {
  id: number;
  /** projectRow('checkins', row) as logged */
  d: Record<string, unknown>;
  x: number | null;
}

/** The members of a batch entry's data (throws on a malformed batch). */
export function batchMembers(d: unknown): BatchMember[] {
  const b = d as { cols?: unknown; rows?: unknown; same?: unknown };
  if (!b || !Array.isArray(b.cols) || !Array.isArray(b.rows)) throw new Error('batch entry without cols and rows');
  const cols = b.cols as string[];
  // columns every member shares, written once (batchData); absent in entries written before
  const same = b.same === undefined ? {} : (b.same as Record<string, unknown>);
  if (!same || typeof same !== 'object' || Array.isArray(same)) throw new Error('batch entry with a malformed same');
  for (const k of Object.keys(same)) if (k === 'id' || cols.includes(k)) throw new Error(`batch column ${k} both shared and per row`);
  return (b.rows as unknown[][]).map((r) => {
    if (!Array.isArray(r) || r.length !== cols.length) throw new Error('batch row does not match its columns');
    const o: Record<string, unknown> = {};
    let id = Number.NaN;
    let x: number | null = null;
    for (const k in same) {
      if (k === 'expires_ms') x = same[k] as number | null;
      else o[k] = same[k];
    }
    for (let i = 0; i < cols.length; i++) {
      if (cols[i] === 'id') id = r[i] as number;
      else if (cols[i] === 'expires_ms') x = r[i] as number | null;
      else o[cols[i]] = r[i];
    }
    return { id, d: o, x };
  });
}

/** The members an entry carries: a `checkins` entry's data, or a raw input's `b`; undefined: none. */
export function batchOf(e: Entry): Map<number, BatchMember> | undefined {
  const d = e.k === BATCH_KIND ? e.d : e.b;
  if (d === undefined) return undefined;
  const m = new Map<number, BatchMember>();
  for (const x of batchMembers(d)) m.set(x.id, x);
  return m;
}

/** `{ cols, rows, same }` of check-ins just inserted, as an object (what batchJson writes). */
export function batchData(items: ReadonlyArray<{ id: number; row: Record<string, unknown> }>): { cols: string[]; rows: unknown[][]; same?: Record<string, unknown> } {
  const { keep, same } = sharedColumns(items);
  const data: { cols: string[]; rows: unknown[][]; same?: Record<string, unknown> } = {
    cols: keep,
    rows: items.map((it) => keep.map((c) => (c === 'id' ? it.id : (it.row[c] ?? null)))),
  };
  if (same) data.same = Object.fromEntries(same.map((c) => [c, items[0].row[c] ?? null]));
  return data;
}

/**
 * The columns each member writes (`keep`, id first, in BATCH_COLS order) and those written once
 * in `same` (sorted; undefined when none is shared). why `same`: a column equal in every row (the
 * raw input's id, the terminal, its zone, the class...) is written once: the entry's bytes are
 * most of what the log adds to the intake's writes (SQLite pages per request, bench evidence);
 * a 20-check-in request's entry shrinks by about a third. batchMembers gives every member its
 * full columns again. A single check-in shares nothing (its entry reads as before `same`).
 */
function sharedColumns(items: ReadonlyArray<{ id: number; row: Record<string, unknown> }>): { keep: string[]; same?: string[] } {
  if (items.length < 2) return { keep: BATCH_COLS };
  const keep = ['id'];
  const same: string[] = [];
  const first = items[0].row;
  for (let j = 1; j < BATCH_COLS.length; j++) {
    const c = BATCH_COLS[j];
    const v = first[c] ?? null;
    let eq = true;
    for (let i = 1; eq && i < items.length; i++) eq = (items[i].row[c] ?? null) === v;
    (eq ? same : keep).push(c);
  }
  if (!same.length) return { keep };
  return { keep, same: same.sort() };
}

/**
 * The canonical JSON of batchData(items), written in one pass with one JSON.stringify for the
 * rows (see CanonicalText), and the latest expiry among them: the entry expires with its last
 * member, so a log cut never drops a check-in still kept. Values other than strings, finite
 * numbers, booleans and null take the general path (canonicalJson of batchData).
 */
export function batchJson(items: ReadonlyArray<{ id: number; row: Record<string, unknown> }>): { json: CanonicalText; expires: number } {
  let x = 0;
  for (const it of items) {
    const e = it.row.expires_ms as number;
    if (e > x) x = e;
  }
  const { keep, same } = sharedColumns(items);
  const rows: unknown[][] = new Array(items.length);
  let flat = true;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const a: unknown[] = new Array(keep.length);
    a[0] = it.id;
    for (let j = 1; j < keep.length; j++) {
      const v = it.row[keep[j]] ?? null;
      if (!plain(v)) flat = false;
      a[j] = v;
    }
    if (!plain(it.id)) flat = false;
    rows[i] = a;
  }
  let sameJson = '';
  if (same) {
    const o: Record<string, unknown> = {};
    for (const c of same) {
      const v = items[0].row[c] ?? null;
      if (!plain(v)) flat = false;
      o[c] = v;
    }
    sameJson = `,"same":${JSON.stringify(o)}`;
  }
  // JSON.stringify is canonical for arrays of such values and for an object built in sorted key order
  const json = flat ? `{"cols":${JSON.stringify(keep)},"rows":${JSON.stringify(rows)}${sameJson}}` : canonicalJson(batchData(items));
  return { json: new CanonicalText(json), expires: x };
}

/** A value JSON.stringify writes canonically: string, finite number, boolean, null. */
function plain(v: unknown): boolean {
  const t = typeof v;
  return t === 'string' || t === 'boolean' || v === null || (t === 'number' && Number.isFinite(v));
}

export interface LogRow {
  seq: number;
  kind: string;
  ref: string | null;
  entry: Buffer | null;
  leaf: Buffer;
  expires_ms: number | null;
}

export interface CheckpointRow {
  size: number;
  root: Buffer;
  note: string;
  at_ms: number;
}

const cache = new WeakMap<Store, EvidenceLog>();

/**
 * Subtrees below this level are not stored: a node of level < TILE is hashed from its 2^level
 * leaf hashes (at most 15) when a proof or root asks for it. why: storing every node was one
 * INSERT (and a read of its left sibling) per append; from level 4 up it is one per 8 appends.
 * A larger tile (C2SP's 8) saves a little more at append but costs proofs hundreds of hashes
 * (measured: 72 inclusion proofs/s at tile 8 under load; bench evidence prints the figure).
 *
 * The stored nodes are written by `settle()`, not by the append: before each root or proof
 * (the checkpointer signs every few minutes and at each verdict), never on the intake's path.
 * why: folding each leaf into the tree at append (reading the log's tail to check the tree's
 * right edge, hashing, storing a node every 8 appends) was a third of what the log cost a durable
 * check-in (bench evidence, profiled in the real intake: the intake's SQLite work leaves the
 * caches cold, so each step of the log costs several times its tight-loop figure). Nothing is
 * weaker for it: the entry and its leaf hash are written in the fact's transaction as before;
 * the nodes are derived from the leaves, and until a checkpoint signs a root nothing vouches for
 * the tail anyway. A node not stored (not settled yet, or a store opened read-only) is hashed
 * from its children when a proof asks.
 */
export const TILE = 4;

/**
 * The append-only evidence log and its Merkle tree, in the store's database.
 *
 * How to route a new fact kind into the log (for every engineer adding evidence):
 *  - a fact that is a row of an evidential table: add the table to FACTS above (its evidential
 *    columns), then in the store function that inserts or updates the row, inside its
 *    transaction, call `evidenceLog(store).row(table, key)`. An update of a row already logged
 *    becomes a correction automatically (it points at the row's previous entry); a new row that
 *    corrects ANOTHER row passes `{ corrects: refOf(otherTable, otherKey) }`. A deleted row:
 *    `.removed(table, key)`.
 *  - a fact with no row: `evidenceLog(store).appendEvidence(kind, data, { corrects })`.
 * Never write an evidential table without one of these in the same transaction: `verify`
 * reports every row the log does not hold as inserted behind its back.
 */
export class EvidenceLog implements NodeSource {
  private st: Record<string, Statement>;
  private rowSt = new Map<FactTable, Statement>();
  constructor(private store: Store) {
    const db = store.db;
    this.st = {
      size: db.prepare('SELECT COALESCE(MAX(seq) + 1, 0) FROM evidence_log').pluck(),
      leaves: db.prepare('SELECT leaf FROM evidence_log WHERE seq >= ? AND seq < ? ORDER BY seq').pluck(),
      // the next leaf number taken inside the INSERT (a scalar subquery: measured 1 µs, no temporary table)
      ins: db.prepare('INSERT INTO evidence_log (seq, kind, ref, entry, leaf, expires_ms) VALUES ((SELECT COALESCE(MAX(seq) + 1, 0) FROM evidence_log), ?, ?, ?, ?, ?)'),
      leaf: db.prepare('SELECT leaf FROM evidence_log WHERE seq = ?').pluck(),
      node: db.prepare('SELECT hash FROM evidence_nodes WHERE level = ? AND idx = ?').pluck(),
      insNode: db.prepare('INSERT OR IGNORE INTO evidence_nodes (level, idx, hash) VALUES (?, ?, ?)'),
      nodesAt: db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) FROM evidence_nodes WHERE level = ?').pluck(),
      allOfRef: db.prepare('SELECT seq, kind, ref, entry, leaf, expires_ms FROM evidence_log WHERE ref = ? ORDER BY seq'),
      lastOfRef: db.prepare('SELECT seq FROM evidence_log WHERE ref = ? ORDER BY seq DESC LIMIT 1').pluck(),
      lastRowOfRef: db.prepare('SELECT seq, kind, ref, entry, leaf, expires_ms FROM evidence_log WHERE ref = ? ORDER BY seq DESC LIMIT 1'),
      get: db.prepare('SELECT seq, kind, ref, entry, leaf, expires_ms FROM evidence_log WHERE seq = ?'),
      cpIns: db.prepare('INSERT OR IGNORE INTO evidence_checkpoints (size, root, note, at_ms) VALUES (?, ?, ?, ?)'),
      cpLast: db.prepare('SELECT size, root, note, at_ms FROM evidence_checkpoints ORDER BY size DESC, at_ms DESC LIMIT 1'),
    };
  }

  // ---- appending ----

  /**
   * The seam: append one evidential fact, inside the caller's transaction (or its own).
   * Returns the entry's leaf index. `corrects` is the leaf index of the entry this one
   * corrects; `ref` names the index row the entry stands for.
   */
  appendEvidence(kind: string, data: unknown, opts: { ref?: string; corrects?: number; expires?: number; b?: unknown; pointed?: boolean } = {}): number {
    // why not always store.tx: nested, better-sqlite3 makes a SAVEPOINT per call, which cost the
    // check-in group commit (2 entries per check-in) measurably; the caller's transaction covers it
    return this.inTx(() => {
      const now = this.store.now();
      // every entry expires: a fact with no row expiry of its own is kept as long as evidence is
      const expires = opts.expires ?? this.store.expiresAt(now);
      const e: Entry = { v: 1, k: kind, t: now, x: expires, d: data };
      if (opts.ref !== undefined) e.r = opts.ref;
      if (opts.corrects !== undefined) e.c = opts.corrects;
      if (opts.b !== undefined) e.b = opts.b;
      const { bytes, leaf } = entryWithLeaf(e);
      // pointed: the entry names its row (r), the row points at the entry; no ref index entry
      return Number(this.st.ins.run(kind, opts.pointed ? null : (opts.ref ?? null), bytes, leaf, expires).lastInsertRowid);
    });
  }

  /**
   * Store the tree's nodes of level TILE and up that the leaves now complete (see TILE). Runs
   * before every root and proof on a writable store; idempotent (another connection may settle
   * the same nodes: the same hashes). Returns the number of nodes stored.
   */
  settle(): number {
    if (this.store.db.readonly) return 0;
    try {
      return this.settleNow();
    } catch (err) {
      // another process holds the write lock past busy_timeout, or the file is read-only: the
      // proof hashes the missing nodes itself (node()); the next root or proof settles them
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_READONLY') return 0;
      throw err;
    }
  }

  private settleNow(): number {
    return this.inTx(() =>
      this.withTiles(() => {
        const size = this.size();
        let n = 0;
        for (let level = TILE; 2 ** level <= size; level++) {
          const want = Math.floor(size / 2 ** level);
          for (let idx = this.st.nodesAt.get(level) as number; idx < want; idx++) {
            this.st.insNode.run(level, idx, hashChildren(this.node(level - 1, 2 * idx), this.node(level - 1, 2 * idx + 1)));
            n++;
          }
        }
        return n;
      }),
    );
  }

  private inTx<T>(fn: () => T): T {
    return this.store.db.inTransaction ? fn() : this.store.tx(fn);
  }

  private rowStatement(table: FactTable): Statement {
    let s = this.rowSt.get(table);
    if (!s) {
      const f = FACTS[table];
      const cols = [...f.key, ...f.cols, ...('digest' in f ? [f.digest] : []), ...(NO_EXPIRY.has(table) ? [] : ['expires_ms'])];
      s = this.store.db.prepare(`SELECT ${cols.join(', ')} FROM ${table} WHERE ${f.key.map((k) => `${k} = ?`).join(' AND ')}`);
      this.rowSt.set(table, s);
    }
    return s;
  }

  /** The row as stored now, or undefined. */
  readRow(table: FactTable, key: readonly unknown[]): Record<string, unknown> | undefined {
    return this.rowStatement(table).get(...key) as Record<string, unknown> | undefined;
  }

  /**
   * Log the evidence of an index row as it is now (read back, so the entry is exactly what the
   * table holds). `fresh`: the row was just inserted (skips looking for an earlier entry).
   */
  row(table: FactTable, key: readonly unknown[], opts: { fresh?: boolean; corrects?: string } = {}): number {
    const r = this.readRow(table, key);
    if (!r) throw new Error(`evidence log: no ${table} row ${JSON.stringify(key)}`);
    const ref = refOf(table, key);
    const prev = opts.corrects !== undefined ? this.lastSeqOf(opts.corrects) : opts.fresh ? undefined : this.lastSeqOf(ref);
    return this.appendEvidence(FACTS[table].kind, projectRow(table, r), { ref, corrects: prev, expires: NO_EXPIRY.has(table) ? undefined : (r.expires_ms as number) });
  }

  /**
   * Log a row just inserted from the values the caller inserted (no read-back: the check-in
   * group commit's hot path). The values must be those the INSERT wrote, column for column;
   * the tamper suite's clean runs check that they give the same entry as a read-back would.
   */
  inserted(table: FactTable, key: readonly unknown[], row: Record<string, unknown>, checkins?: ReadonlyArray<{ id: number; row: Record<string, unknown> }>): number {
    if (table === 'raw_inputs' && this.pointer()) {
      const seq = this.insertedRaw(key[0] as number, row, checkins);
      this.pointer()!.set.run(seq, key[0]);
      return seq;
    }
    return this.append(table, key, row, checkins, false);
  }

  /**
   * A raw input just inserted (values as for `inserted`), with the check-ins its request gave:
   * one entry for the request, kept out of the ref index. Returns its leaf, which the CALLER
   * stores on the row as `log_seq` in the same transaction (CheckinRepo folds it into the row's
   * status update: one statement less per request than `inserted`, which writes it itself).
   * Without it verify reports the row as not in the log.
   */
  insertedRaw(rawId: number, row: Record<string, unknown>, checkins?: ReadonlyArray<{ id: number; row: Record<string, unknown> }>): number {
    return this.append('raw_inputs', [rawId], row, checkins, !!this.pointer());
  }

  private append(table: FactTable, key: readonly unknown[], row: Record<string, unknown>, checkins: ReadonlyArray<{ id: number; row: Record<string, unknown> }> | undefined, pointed: boolean): number {
    let expires = NO_EXPIRY.has(table) ? undefined : (row.expires_ms as number);
    let b: unknown;
    if (checkins?.length) {
      // a raw input with the check-ins its request gave (BATCH_KIND): one entry for the request
      const x = batchJson(checkins);
      b = x.json;
      if (expires !== undefined && x.expires > expires) expires = x.expires;
    }
    return this.appendEvidence(FACTS[table].kind, projectRow(table, row), { ref: refOf(table, key), expires, b, pointed });
  }

  private ptr: { get: Statement; set: Statement } | null | undefined;

  /** raw_inputs.log_seq's statements; null on a store that has no such column (read-only, not migrated). */
  private pointer(): { get: Statement; set: Statement } | null {
    if (this.ptr !== undefined) return this.ptr;
    const cols = this.store.db.prepare("SELECT name FROM pragma_table_info('raw_inputs')").pluck().all() as string[];
    this.ptr = cols.includes('log_seq')
      ? { get: this.store.db.prepare('SELECT log_seq FROM raw_inputs WHERE id = ?').pluck(), set: this.store.db.prepare('UPDATE raw_inputs SET log_seq = ? WHERE id = ?') }
      : null;
    return this.ptr;
  }

  /**
   * The entry a raw input's row points at (log_seq), with its ref filled in, when that entry is
   * this row's: a raw-input entry without a ref column whose own `r` names the row. Never trusts
   * the column: a pointer to any other entry gives undefined (verify then reports the row). A
   * pointed entry cut by retention has no bytes left to name its row: taken as the row's (the
   * row outlived its expiry, as for a cut entry found by its ref).
   */
  pointedEntry(ref: string): LogRow | undefined {
    if (!ref.startsWith('["raw_inputs",')) return undefined;
    const p = this.pointer();
    if (!p) return undefined;
    const id = (JSON.parse(ref) as unknown[])[1];
    const seq = p.get.get(id) as number | null | undefined;
    if (seq === null || seq === undefined) return undefined;
    const e = this.get(seq);
    if (!e || e.kind !== FACTS.raw_inputs.kind || e.ref !== null) return undefined;
    if (e.entry && this.refInEntry(e.seq, e.entry) !== ref) return undefined;
    return { ...e, ref };
  }

  // the last entry's `r` read (verify asks for each check-in of a request in turn)
  private lastR: { seq: number; entry: Buffer; r: unknown } | undefined;

  /** The `r` an entry's bytes name (undefined: none, or unreadable). */
  refInEntry(seq: number, entry: Buffer): unknown {
    if (this.lastR?.seq === seq && this.lastR.entry.equals(entry)) return this.lastR.r;
    let r: unknown;
    try {
      r = parseEntry(entry).r;
    } catch {
      r = undefined;
    }
    this.lastR = { seq, entry, r };
    return r;
  }

  /** The leaf of a ref's latest entry (in the ref index or pointed at by its row), or undefined. */
  private lastSeqOf(ref: string): number | undefined {
    return this.latestOf(ref)?.seq;
  }

  /**
   * Log check-ins just inserted from a re-read of raw input `rawId` as one `checkins` entry (see
   * BATCH_KIND): the rows are the values the INSERT wrote, column for column, as for `inserted`.
   */
  insertedBatch(rawId: number, items: ReadonlyArray<{ id: number; row: Record<string, unknown> }>): number {
    const b = batchJson(items);
    return this.appendEvidence(BATCH_KIND, b.json, { ref: batchRef(rawId), expires: b.expires });
  }

  /**
   * The entry that holds a row's evidence now: its latest own entry, or (a check-in) the entry of
   * its raw input, or of a re-read of it, that lists it. undefined: the log does not hold the row.
   */
  entryFor(table: FactTable, key: readonly unknown[]): { row: LogRow; member?: BatchMember } | undefined {
    const own = this.latestOf(refOf(table, key));
    if (own || table !== 'checkins') return own && { row: own };
    const raw = (this.readRow('checkins', key) as { raw_id?: unknown } | undefined)?.raw_id;
    if (raw === undefined || raw === null) return undefined;
    const rawRef = refOf('raw_inputs', [raw]);
    const pointed = this.pointedEntry(rawRef);
    for (const list of [pointed ? [pointed] : [], this.st.allOfRef.all(rawRef) as LogRow[], this.st.allOfRef.all(batchRef(raw)) as LogRow[]])
      for (const b of list) {
        // cut by retention (the row outlived its expiry): not checkable, as a row's own cut entry
        if (!b.entry) return { row: b };
        const m = this.batch(b)?.get(Number(key[0]));
        if (m) return { row: b, member: m };
      }
    return undefined;
  }

  /** entryFor by ref (JSON [table, key...]). */
  entryForRef(ref: string): { row: LogRow; member?: BatchMember } | undefined {
    const [table, ...key] = JSON.parse(ref) as [FactTable, ...unknown[]];
    if (!(table in FACTS)) {
      const own = this.latestOf(ref);
      return own && { row: own };
    }
    return this.entryFor(table, key);
  }

  // the last batch read (rows of one raw input are looked up one after another)
  private lastBatch: { seq: number; entry: Buffer; members: Map<number, BatchMember> | undefined } | undefined;

  /** The check-ins an entry carries (a `checkins` entry, or a raw input's `b`) by id; undefined: none. Throws on a malformed batch. */
  batch(e: LogRow): Map<number, BatchMember> | undefined {
    if (this.lastBatch?.seq === e.seq && this.lastBatch.entry.equals(e.entry!)) return this.lastBatch.members;
    const members = batchOf(parseEntry(e.entry!));
    this.lastBatch = { seq: e.seq, entry: e.entry!, members };
    return members;
  }

  /**
   * Adopt, once per table, the rows written before the table entered the log (a store from
   * before the log existed, or a table added to FACTS later): each row without an entry gets an
   * `adopted` entry (its evidence as it is now, dated now), and one `adoption` entry names the
   * tables closed, so `verify` tells adopted rows from rows inserted by hand afterwards (which
   * have no entry and are flagged). Runs at every writable open (Store); a table an adoption
   * entry names is never adopted again. Returns what was adopted, or undefined when nothing was
   * open. A fresh store closes every table at its first open, with no rows.
   */
  adopt(): Adoption | undefined {
    const covered = new Set<string>();
    for (const e of this.st.allOfRef.all(ADOPTION_REF) as LogRow[]) if (e.entry) for (const t of (parseEntry(e.entry).d as Adoption).tables) covered.add(t);
    const todo = FACT_TABLES.filter((t) => !covered.has(t) && this.tableExists(t));
    if (!todo.length) return undefined;
    return this.inTx(() => {
      const a: Adoption = { tables: todo, rows: {}, at: this.store.now() };
      for (const t of todo) {
        let n = 0;
        for (let after = 0; ; ) {
          const page = this.tablePage(t, after, 2000);
          if (!page.length) break;
          for (const r of page) {
            const key = FACTS[t].key.map((k) => r[k]);
            const ref = refOf(t, key);
            if (this.lastSeqOf(ref) !== undefined) continue;
            const row = this.readRow(t, key)!;
            this.appendEvidence('adopted', projectRow(t, row), { ref, expires: NO_EXPIRY.has(t) ? undefined : (row.expires_ms as number) });
            n++;
          }
          after = page[page.length - 1]._rid;
        }
        a.rows[t] = n;
      }
      this.appendEvidence('adoption', a, { ref: ADOPTION_REF });
      return a;
    });
  }

  /** The adoptions logged, oldest first. */
  adoptions(): Adoption[] {
    return (this.st.allOfRef.all(ADOPTION_REF) as LogRow[]).filter((e) => e.entry).map((e) => parseEntry(e.entry!).d as Adoption);
  }

  /** Log that an index row was removed (a roster entry dropped by a re-import, withdrawn data). */
  removed(table: FactTable, key: readonly unknown[]): number {
    const ref = refOf(table, key);
    return this.appendEvidence(FACTS[table].kind, null, { ref, corrects: this.lastSeqOf(ref) });
  }

  // ---- reading ----

  size(): number {
    return this.st.size.get() as number;
  }

  node(level: number, index: number): Buffer {
    if (level === 0 || level >= TILE) {
      const k = index * 64 + level;
      const memo = this.nodeMemo?.get(k);
      if (memo) return memo;
      let h = (level === 0 ? this.st.leaf.get(index) : this.st.node.get(level, index)) as Buffer | undefined;
      // not settled yet (or a read-only store): hashed from its children, down to the leaves
      if (!h && level > 0) h = hashChildren(this.node(level - 1, 2 * index), this.node(level - 1, 2 * index + 1));
      if (!h) throw new Error(`evidence log: tree node ${level}/${index} missing`);
      this.nodeMemo?.set(k, h);
      return h;
    }
    // below the stored levels: hash the subtree up from its leaves. Inside one proof or root
    // (this.tiles set) a tile's leaves are read once and its inner nodes kept: every node below
    // level TILE on a proof's path lies in the tile of the leaf it proves.
    const w = 2 ** level;
    if (this.tiles) {
      const tile = Math.floor((index * w) / 2 ** TILE);
      let t = this.tiles.get(tile);
      if (!t) this.tiles.set(tile, (t = memoryTree(this.st.leaves.all(tile * 2 ** TILE, (tile + 1) * 2 ** TILE) as Buffer[])));
      try {
        return t.node(level, index - tile * 2 ** (TILE - level));
      } catch {
        throw new Error(`evidence log: tree node ${level}/${index} missing`);
      }
    }
    let row = this.st.leaves.all(index * w, (index + 1) * w) as Buffer[];
    if (row.length !== w) throw new Error(`evidence log: tree node ${level}/${index} missing (${row.length} of its ${w} leaves)`);
    while (row.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i < row.length; i += 2) up.push(hashChildren(row[i], row[i + 1]));
      row = up;
    }
    return row[0];
  }

  private tiles: Map<number, NodeSource> | undefined;
  // stored nodes read during one withTiles call: proofs of one bundle share their upper nodes
  private nodeMemo: Map<number, Buffer> | undefined;

  /** Run a proof or root computation with tiles and nodes read once (never kept across calls: a rollback may drop leaves). */
  private withTiles<T>(fn: () => T): T {
    if (this.tiles) return fn();
    this.tiles = new Map();
    this.nodeMemo = new Map();
    try {
      return fn();
    } finally {
      this.tiles = undefined;
      this.nodeMemo = undefined;
    }
  }

  root(size = this.size()): Buffer {
    this.settle();
    return this.withTiles(() => rootOf(this, size));
  }

  inclusion(seq: number, size: number): Buffer[] {
    this.settle();
    return this.withTiles(() => inclusionProof(this, seq, size));
  }

  /** Inclusion proofs of many leaves in one tree (a bundle's): each stored node and tile is read once for all. */
  inclusions(seqs: readonly number[], size: number): Map<number, Buffer[]> {
    this.settle();
    return this.withTiles(() => new Map(seqs.map((q) => [q, inclusionProof(this, q, size)])));
  }

  consistency(first: number, second: number): Buffer[] {
    this.settle();
    return this.withTiles(() => consistencyProof(this, first, second));
  }

  get(seq: number): LogRow | undefined {
    return this.st.get.get(seq) as LogRow | undefined;
  }

  /** A ref's latest entry: in the ref index, or (a raw input) the one its row points at. */
  latestOf(ref: string): LogRow | undefined {
    const own = this.st.lastRowOfRef.get(ref) as LogRow | undefined;
    const p = this.pointedEntry(ref);
    return p && (!own || p.seq > own.seq) ? p : own;
  }

  /**
   * A page of entries in leaf order. why pages, not iterate(): better-sqlite3 refuses other
   * statements on the connection while an iterator is open, and verify looks rows up per entry.
   */
  page(from: number, limit: number): LogRow[] {
    return this.store.db.prepare('SELECT seq, kind, ref, entry, leaf, expires_ms FROM evidence_log WHERE seq >= ? ORDER BY seq LIMIT ?').all(from, limit) as LogRow[];
  }

  /** A page of one evidential table's rows by rowid (key columns only). */
  tablePage(table: FactTable, afterRowid: number, limit: number): Array<{ _rid: number } & Record<string, unknown>> {
    const f = FACTS[table];
    return this.store.db.prepare(`SELECT rowid AS _rid, ${f.key.join(', ')} FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`).all(afterRowid, limit) as Array<
      { _rid: number } & Record<string, unknown>
    >;
  }

  /** Entries of one kind that are not rows (purges, prunes, key events): few. */
  entriesOfKind(kind: string): LogRow[] {
    return this.store.db.prepare('SELECT seq, kind, ref, entry, leaf, expires_ms FROM evidence_log WHERE kind = ? ORDER BY seq').all(kind) as LogRow[];
  }

  checkpointPage(afterSize: number, afterAt: number, limit: number): CheckpointRow[] {
    return this.store.db
      .prepare('SELECT size, root, note, at_ms FROM evidence_checkpoints WHERE size > ? OR (size = ? AND at_ms > ?) ORDER BY size, at_ms LIMIT ?')
      .all(afterSize, afterSize, afterAt, limit) as CheckpointRow[];
  }

  tableExists(table: string): boolean {
    return !!this.store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
  }

  // ---- checkpoints ----

  saveCheckpoint(size: number, root: Buffer, note: string, at: number): void {
    this.st.cpIns.run(size, root, note, at);
  }

  lastCheckpoint(): CheckpointRow | undefined {
    return this.st.cpLast.get() as CheckpointRow | undefined;
  }

  // ---- retention ----

  /**
   * Cut the log at its start: drop the entry bytes of leaves [0, upTo) (their leaf hashes, refs and
   * the tree stay, so every later proof and the signed roots still verify). The caller appends
   * the signed "pruned up to" entry and makes a checkpoint covering it.
   */
  prune(upTo: number): number {
    return this.store.db.prepare('UPDATE evidence_log SET entry = NULL WHERE seq < ? AND entry IS NOT NULL').run(upTo).changes;
  }

  /** Lowest leaf whose fact has not expired by `now` (or whose row is still open): where a cut may go. */
  pruneLimit(now: number): number {
    return (this.store.db.prepare('SELECT MIN(seq) FROM evidence_log WHERE entry IS NOT NULL AND expires_ms >= ?').pluck().get(now) as number | null) ?? this.size();
  }

  /** First leaf that still has its entry bytes (everything before was pruned). */
  prunedUpTo(): number {
    return (this.store.db.prepare('SELECT MIN(seq) FROM evidence_log WHERE entry IS NOT NULL').pluck().get() as number | null) ?? this.size();
  }
}

/** The store's evidence log (one per open store; statements prepared once). */
export function evidenceLog(store: Store): EvidenceLog {
  let l = cache.get(store);
  if (!l) cache.set(store, (l = new EvidenceLog(store)));
  return l;
}
