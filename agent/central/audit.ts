import type { CheckpointRecord } from '../evidence/verifier.js';
import { checkRecordData } from '../sync/schemas.js';
import { checkpointDecision, keyDecision, type LogKeyRecord, type WitnessAlarmKind } from './witness.js';

/**
 * `classroom-agent verify --central`: a central database checked again from scratch, whichever
 * database holds it (SQLite or PostgreSQL: see CentralSql below, two implementations in
 * audit-sql.ts). For every box, its `log-key` and `checkpoint` records are replayed in the box's
 * order through the witness's own decisions (keyDecision, checkpointDecision: signatures under
 * the registered key, key changes signed by the old key, consistency proofs as stored), and the
 * witness's tables (box_keys, box_checkpoints, witness_alarms) are compared with what the replay
 * says they must hold: a row edited, deleted or inserted behind the receiver is reported, and
 * each fork, rollback or gap says whether the central raised its alarm when the record arrived.
 *
 * Streams: each box's rows are read in pages by sequence (keyset), merged by sequence, and only
 * the last checkpoint and the keys of the box being checked are held, so memory does not grow
 * with the rows. All reads run in one read-only snapshot (a central being written meanwhile is
 * seen as of one moment).
 */

/** What the verifier needs of a database: rows of a query, with `?` placeholders. */
export interface CentralSql {
  /** where the database is, safe to print (credentials masked) */
  readonly where: string;
  /** the name of the column that orders box_checkpoints rows as inserted (`n`, or SQLite's rowid) */
  readonly rowOrder: string;
  all<T>(sql: string, params: readonly unknown[]): Promise<T[]>;
  tables(): Promise<Set<string>>;
  close(): Promise<void>;
}

export type CentralProblemKind =
  | WitnessAlarmKind
  | 'record-unreadable'
  | 'record-marked-valid'
  | 'checkpoint-row-missing'
  | 'checkpoint-row-differs'
  | 'checkpoint-row-unbacked'
  | 'key-row-missing'
  | 'key-row-differs'
  | 'key-row-unbacked'
  | 'alarm-unexplained';

export interface CentralProblem {
  box: string;
  seq: number | null;
  kind: CentralProblemKind;
  detail: string;
  /** for a problem of the box's log (fork, rollback, gap, signature, key): did the central raise an alarm at that record */
  raised?: boolean;
}

export interface CentralBoxSummary {
  box: string;
  keys: number;
  checkpoints: number;
  /** log size of the last checkpoint that passed */
  size: number | null;
}

export interface CentralAudit {
  where: string;
  /** false: an old SQLite central without the witness's tables; only the records were replayed */
  witnessTables: boolean;
  boxes: CentralBoxSummary[];
  records: number;
  problems: CentralProblem[];
  problemCount: number;
}

const PAGE = 2000;
const MAX_LISTED = 1000;
const WITNESSED = "type IN ('log-key', 'checkpoint')";

interface Input {
  seq: number;
  type: string;
  /** the record's data as stored (JSON text), null when it did not join */
  data: string | null;
  valid: boolean;
  conflict: boolean;
}

interface Held {
  seq: number;
  size: number | null;
  root: Buffer | null;
  time: number | null;
  record: string;
  ok: boolean;
  conflict: boolean;
}

interface Alarm {
  seq: number | null;
  kind: string;
  detail: string;
}

/** Rows of one keyset-paged query: `page(after)` gives the rows after the cursor, in order. */
async function* paged<T, C>(first: C, page: (after: C) => Promise<T[]>, cursor: (row: T) => C): AsyncGenerator<T> {
  let after = first;
  for (;;) {
    const rows = await page(after);
    yield* rows;
    if (rows.length < PAGE) return;
    after = cursor(rows[rows.length - 1]!);
  }
}

/** An async iterator that can look at its next row. */
class Peek<T> {
  private head?: IteratorResult<T>;
  constructor(private it: AsyncIterator<T>) {}
  async peek(): Promise<T | undefined> {
    this.head ??= await this.it.next();
    return this.head.done ? undefined : this.head.value;
  }
  async take(): Promise<T | undefined> {
    const v = await this.peek();
    this.head = undefined;
    return v;
  }
  /** every row at the front with this sequence */
  async takeWhile(ok: (x: T) => boolean): Promise<T[]> {
    const out: T[] = [];
    for (let v = await this.peek(); v !== undefined && ok(v); v = await this.peek()) out.push((await this.take())!);
    return out;
  }
}

/** Two sequence-ordered streams as one (ties: `a` first). */
async function* mergeBySeq<T extends { seq: number }>(a: AsyncIterator<T>, b: AsyncIterator<T>): AsyncGenerator<T> {
  const x = new Peek(a);
  const y = new Peek(b);
  for (;;) {
    const [p, q] = [await x.peek(), await y.peek()];
    if (p === undefined && q === undefined) return;
    if (q === undefined || (p !== undefined && p.seq <= q.seq)) yield (await x.take())!;
    else yield (await y.take())!;
  }
}

class Reader {
  constructor(
    private sql: CentralSql,
    private has: Set<string>,
  ) {}

  async boxes(): Promise<string[]> {
    const from = [`SELECT box FROM records WHERE ${WITNESSED}`];
    for (const t of ['box_keys', 'box_checkpoints', 'witness_alarms', 'conflicts']) if (this.has.has(t)) from.push(`SELECT box FROM ${t}`);
    const rows = await this.sql.all<{ box: string }>(`${from.join(' UNION ')} ORDER BY box`, []);
    return rows.map((r) => r.box);
  }

  /** The box's witnessed records in sequence order; a conflicting record after the one whose sequence it reused. */
  inputs(box: string): AsyncGenerator<Input> {
    const norm = (r: { seq: number; type: string; data: string | null; valid: unknown }, conflict: boolean): Input => ({ seq: r.seq, type: r.type, data: r.data, valid: !!r.valid, conflict });
    const records = paged(
      0,
      (after) =>
        this.sql.all<{ seq: number; type: string; data: string; valid: unknown }>(`SELECT seq, type, data, valid FROM records WHERE box = ? AND ${WITNESSED} AND seq > ? ORDER BY seq LIMIT ?`, [
          box,
          after,
          PAGE,
        ]),
      (r) => r.seq,
    );
    // records that travelled in parts (contract v1.1), joined by the receiver: witnessed at their last part's sequence
    const joined = this.has.has('assembled')
      ? paged(
          0,
          (after) =>
            this.sql.all<{ seq: number; type: string; data: string | null; valid: unknown }>(
              `SELECT last_seq AS seq, type, data, valid FROM assembled WHERE box = ? AND ${WITNESSED} AND last_seq > ? ORDER BY last_seq LIMIT ?`,
              [box, after, PAGE],
            ),
          (r) => r.seq,
        )
      : paged(
          0,
          async () => [],
          () => 0,
        );
    const released = async function* () {
      for await (const r of mergeBySeq(records, joined)) yield norm(r, false);
    };
    return mergeBySeq(released(), this.conflicts(box));
  }

  /** Records that came with a sequence number the box had already used (kept aside by the receiver). */
  private async *conflicts(box: string): AsyncGenerator<Input> {
    if (!this.has.has('conflicts')) return;
    const rows = paged(
      [0, 0] as [number, number],
      ([seq, id]) =>
        this.sql.all<{ id: number; seq: number; body: string }>('SELECT id, seq, body FROM conflicts WHERE box = ? AND (seq > ? OR (seq = ? AND id > ?)) ORDER BY seq, id LIMIT ?', [
          box,
          seq,
          seq,
          id,
          PAGE,
        ]),
      (r) => [r.seq, r.id] as [number, number],
    );
    for await (const c of rows) {
      let rec: { type?: unknown; data?: unknown };
      try {
        rec = JSON.parse(c.body) as typeof rec;
      } catch {
        rec = {};
      }
      if (rec.type !== 'checkpoint') continue; // the witness ignores a key record sent with a used sequence
      // the live witness judged it by the schemas (a conflict has no stored valid flag)
      yield { seq: c.seq, type: 'checkpoint', data: JSON.stringify(rec.data), valid: checkRecordData('checkpoint', rec.data).length === 0, conflict: true };
    }
  }

  held(box: string): AsyncGenerator<Held> {
    const n = this.sql.rowOrder;
    type Row = { n: number; seq: number; size: number | null; root: Buffer | null; time_ms: number | null; record: string; ok: unknown; conflict: unknown };
    const rows = paged(
      [-1, 0] as [number, number],
      ([seq, after]) =>
        this.sql.all<Row>(`SELECT ${n} AS n, seq, size, root, time_ms, record, ok, conflict FROM box_checkpoints WHERE box = ? AND (seq > ? OR (seq = ? AND ${n} > ?)) ORDER BY seq, ${n} LIMIT ?`, [
          box,
          seq,
          seq,
          after,
          PAGE,
        ]),
      (r) => [r.seq, r.n] as [number, number],
    );
    return (async function* () {
      for await (const r of rows) yield { seq: r.seq, size: r.size, root: r.root, time: r.time_ms, record: r.record, ok: !!r.ok, conflict: !!r.conflict };
    })();
  }

  async keys(box: string): Promise<Array<{ vkey: string; origin: string; trusted: boolean; note: string }>> {
    const rows = await this.sql.all<{ vkey: string; origin: string; trusted: unknown; note: string }>('SELECT vkey, origin, trusted, note FROM box_keys WHERE box = ? ORDER BY vkey', [box]);
    return rows.map((r) => ({ ...r, trusted: !!r.trusted }));
  }

  alarms(box: string): AsyncGenerator<Alarm> {
    // an alarm without a sequence sorts first
    return paged(
      [-2, 0] as [number, number],
      ([seq, id]) =>
        this.sql.all<{ id: number; seq: number | null; kind: string; detail: string }>(
          'SELECT id, seq, kind, detail FROM witness_alarms WHERE box = ? AND (COALESCE(seq, -1) > ? OR (COALESCE(seq, -1) = ? AND id > ?)) ORDER BY COALESCE(seq, -1), id LIMIT ?',
          [box, seq, seq, id, PAGE],
        ),
      (r) => [r.seq ?? -1, r.id] as [number, number],
    );
  }
}

const sameRoot = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : Buffer.compare(a, b) === 0);
const hex = (b: Buffer | null) => (b ? b.toString('base64') : 'null');

/** Check a central database (see the top of this file). */
export async function auditCentral(sql: CentralSql): Promise<CentralAudit> {
  const has = await sql.tables();
  const witnessTables = ['box_keys', 'box_checkpoints', 'witness_alarms'].every((t) => has.has(t));
  const reader = new Reader(sql, has);
  const out: CentralAudit = { where: sql.where, witnessTables, boxes: [], records: 0, problems: [], problemCount: 0 };
  const problem = (p: CentralProblem) => {
    out.problemCount++;
    if (out.problems.length < MAX_LISTED) out.problems.push(p);
  };
  for (const box of await reader.boxes()) {
    const s = await auditBox(box, reader, witnessTables, problem);
    out.records += s.records;
    out.boxes.push(s.summary);
  }
  return out;
}

async function auditBox(box: string, reader: Reader, witnessTables: boolean, problem: (p: CentralProblem) => void): Promise<{ summary: CentralBoxSummary; records: number }> {
  const inputs = new Peek(reader.inputs(box));
  const held = new Peek(witnessTables ? reader.held(box) : (async function* (): AsyncGenerator<Held> {})());
  const alarms = new Peek(witnessTables ? reader.alarms(box) : (async function* (): AsyncGenerator<Alarm> {})());
  // the witness's state for this box: its keys, the current trusted one, the last checkpoint that passed
  const keys = new Map<string, { origin: string; trusted: boolean; note: string }>();
  let cur: { vkey: string; origin: string } | undefined;
  let last: { size: number; root: Buffer; time?: number } | undefined;
  let records = 0;
  let checkpoints = 0;
  for (;;) {
    const heads = [await inputs.peek(), await held.peek(), await alarms.peek()];
    const seqs = heads.filter((h) => h !== undefined).map((h) => h.seq ?? -1);
    if (!seqs.length) break;
    const seq = Math.min(...seqs);
    const at = (x: { seq: number | null }) => (x.seq ?? -1) === seq;
    const ins = await inputs.takeWhile(at);
    const rows = await held.takeWhile(at);
    const raised = await alarms.takeWhile(at);
    for (const r of ins) {
      records++;
      let data: unknown;
      try {
        data = r.data === null ? null : JSON.parse(r.data);
      } catch {
        problem({ box, seq, kind: 'record-unreadable', detail: 'the stored data is not JSON' });
        continue;
      }
      if (r.valid && checkRecordData(r.type, data).length) {
        problem({ box, seq, kind: 'record-marked-valid', detail: `a ${r.type} record marked valid that its schema refuses` });
        continue;
      }
      if (!r.valid) continue; // refused on arrival: the witness never saw it
      // the alarm the witness must have raised here, and the row it must have kept
      let want: { kind: WitnessAlarmKind; detail: string } | undefined;
      if (r.type === 'log-key') {
        const rec = data as LogKeyRecord;
        const d = keyDecision(cur, rec);
        want = d.alarm;
        if (d.store) keys.set(rec.key, { origin: rec.origin, trusted: d.trusted, note: rec.note });
        if (d.store && d.trusted) cur = { vkey: rec.key, origin: rec.origin };
      } else {
        checkpoints++;
        const d = checkpointDecision(cur, last, seq, data as CheckpointRecord, r.conflict);
        want = d.alarm;
        if (d.ok) last = { size: d.size!, root: d.root!, time: d.time ?? undefined };
        if (witnessTables) {
          const record = JSON.stringify(data);
          const i = rows.findIndex((h) => h.conflict === r.conflict && h.record === record);
          if (i < 0) problem({ box, seq, kind: 'checkpoint-row-missing', detail: 'the witness keeps no row for this checkpoint record (deleted, or the record was edited)' });
          else {
            const h = rows.splice(i, 1)[0]!;
            const diff = [
              h.ok !== d.ok && `ok ${h.ok}, the replay says ${d.ok}`,
              h.size !== d.size && `size ${h.size}, the record says ${d.size}`,
              !sameRoot(h.root, d.root) && `root ${hex(h.root)}, the record says ${hex(d.root)}`,
              h.time !== d.time && `time ${h.time}, the record says ${d.time}`,
            ].filter(Boolean);
            if (diff.length) problem({ box, seq, kind: 'checkpoint-row-differs', detail: diff.join('; ') });
          }
        }
      }
      if (want) {
        // the same kind at this sequence; for a record with a reused sequence any alarm (the live
        // witness judged it against the checkpoint it held then, which may differ from the replay's)
        const i = raised.findIndex((a) => a.kind === want.kind || r.conflict);
        if (i >= 0) raised.splice(i, 1);
        problem({ box, seq, kind: want.kind, detail: want.detail, raised: witnessTables ? i >= 0 : undefined });
      }
    }
    for (const h of rows) problem({ box, seq, kind: 'checkpoint-row-unbacked', detail: `a kept checkpoint row (size ${h.size}, root ${hex(h.root)}) with no checkpoint record behind it` });
    for (const a of raised) problem({ box, seq: a.seq, kind: 'alarm-unexplained', detail: `the central raised ${a.kind} (${a.detail}), the stored records no longer show why` });
  }
  const announced = keys.size;
  if (witnessTables) {
    const rows = await reader.keys(box);
    for (const k of rows) {
      const w = keys.get(k.vkey);
      if (!w) problem({ box, seq: null, kind: 'key-row-unbacked', detail: `key ${k.vkey} (${k.trusted ? 'trusted' : 'not trusted'}) is not in any log-key record of the box` });
      else if (w.trusted !== k.trusted || w.origin !== k.origin || w.note !== k.note)
        problem({ box, seq: null, kind: 'key-row-differs', detail: `key ${k.vkey}: trusted ${k.trusted}, the log-key records say ${w.trusted}` });
      keys.delete(k.vkey);
    }
    for (const [vkey] of keys) problem({ box, seq: null, kind: 'key-row-missing', detail: `key ${vkey} announced in a log-key record has no row in box_keys` });
  }
  return { summary: { box, keys: announced, checkpoints, size: last?.size ?? null }, records };
}
