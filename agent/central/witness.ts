import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { logger } from '../core/log.js';
import { keyStatement } from '../evidence/checkpointer.js';
import { openNote, parseVerifierKey } from '../evidence/note.js';
import { witnessStep, type CheckpointRecord, type WitnessAlarm } from '../evidence/verifier.js';

/**
 * The province as witness of each box's evidence log (docs/evidence.md): it keeps every signed
 * checkpoint a box sends, checks each new one against the last it holds (signature with the key
 * the box registered, then an RFC 9162 consistency proof), and raises an alarm on a fork (two
 * histories), a rollback (a box restored from an older copy) or a gap (checkpoints it never got).
 * A key change is accepted only when the previous key signed it.
 *
 * Tables in the central receiver's own database (agent/central/db.ts explains why it has one).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS box_keys (
  box TEXT NOT NULL,
  vkey TEXT NOT NULL,
  origin TEXT NOT NULL,
  trusted INTEGER NOT NULL,
  note TEXT NOT NULL,
  since_ms INTEGER NOT NULL,
  PRIMARY KEY (box, vkey)
);
CREATE TABLE IF NOT EXISTS box_checkpoints (
  box TEXT NOT NULL,
  seq INTEGER NOT NULL,
  size INTEGER,
  root BLOB,
  time_ms INTEGER,
  record TEXT NOT NULL,
  ok INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  conflict INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS box_checkpoints_box ON box_checkpoints(box, seq);
CREATE TABLE IF NOT EXISTS witness_alarms (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  box TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL,
  seq INTEGER,
  raised_ms INTEGER NOT NULL
);
`;

export type WitnessAlarmKind = WitnessAlarm | 'no-key' | 'key-change-unsigned';

export interface WitnessAlarmRow {
  box: string;
  kind: WitnessAlarmKind;
  detail: string;
  seq: number | null;
}

export interface LogKeyRecord {
  origin: string;
  key: string;
  previous: string | null;
  note: string;
}

/**
 * What a `log-key` record does to the box's keys, whatever database holds them (SQLite here,
 * PostgreSQL in pg.ts): `store` the key (trusted or not), and the alarm to raise, if any.
 */
export function keyDecision(cur: { vkey: string } | undefined, rec: LogKeyRecord): { store: boolean; trusted: boolean; alarm?: { kind: WitnessAlarmKind; detail: string } } {
  try {
    const v = parseVerifierKey(rec.key);
    const text = keyStatement(rec.origin, rec.key, rec.previous);
    // opened once per key: old and new keys share the box's name, so names cannot tell them apart
    const n = openNote(rec.note, [v]);
    if (n.text !== text || !n.verified.length) throw new Error('key statement not signed by the new key');
    const byOld = cur ? openNote(rec.note, [parseVerifierKey(cur.vkey)]).verified.length > 0 : false;
    if (!cur) return { store: true, trusted: true }; // registration: the first key of a box
    if (cur.vkey === rec.key) return { store: false, trusted: true };
    if (rec.previous === cur.vkey && byOld) return { store: true, trusted: true };
    return { store: true, trusted: false, alarm: { kind: 'key-change-unsigned', detail: `new key ${rec.key} not signed by the registered key ${cur.vkey}` } };
  } catch (err) {
    return { store: true, trusted: false, alarm: { kind: 'bad-signature', detail: `log-key record: ${(err as Error).message}` } };
  }
}

/**
 * What a `checkpoint` record is against the last one held for the box (both databases): the
 * row to keep and the alarm to raise. `conflict`: it came with a sequence number the box had
 * already used for another record (the box's database was replaced by an older copy).
 */
export function checkpointDecision(
  key: { vkey: string; origin: string } | undefined,
  last: { size: number; root: Buffer; time?: number } | undefined,
  seq: number,
  rec: CheckpointRecord,
  conflict: boolean,
): { ok: boolean; size: number | null; root: Buffer | null; time: number | null; alarm?: { kind: WitnessAlarmKind; detail: string } } {
  if (!key) return { ok: false, size: null, root: null, time: null, alarm: { kind: 'no-key', detail: 'checkpoint from a box with no registered key' } };
  const r = witnessStep(last, rec, key.vkey, key.origin);
  const row = { ok: r.ok && !conflict, size: r.cp?.size ?? null, root: r.cp?.root ?? null, time: r.cp?.time ?? null };
  if (!r.ok) return { ...row, alarm: { kind: r.alarm, detail: r.detail } };
  if (conflict)
    return {
      ...row,
      alarm: { kind: 'rollback', detail: `checkpoint of size ${r.cp.size} sent with sequence ${seq}, already used by another record: the box's database was restored from an older copy` },
    };
  return row;
}

export class Witness {
  private log: Logger;
  constructor(
    private db: Database.Database,
    private now: () => number = Date.now,
    log?: Logger,
  ) {
    this.log = log ?? logger('witness');
    db.exec(SCHEMA);
  }

  private key(box: string): { vkey: string; origin: string } | undefined {
    return this.db.prepare('SELECT vkey, origin FROM box_keys WHERE box = ? AND trusted = 1 ORDER BY since_ms DESC, rowid DESC LIMIT 1').get(box) as { vkey: string; origin: string } | undefined;
  }

  private alarm(box: string, kind: WitnessAlarmKind, detail: string, seq: number | null): void {
    this.db.prepare('INSERT INTO witness_alarms (box, kind, detail, seq, raised_ms) VALUES (?, ?, ?, ?, ?)').run(box, kind, detail, seq, this.now());
    this.log.error({ box, kind, detail, seq }, 'evidence log alarm');
  }

  /** A `log-key` record (registration or key change), in the box's sequence order. */
  onKey(box: string, seq: number, rec: LogKeyRecord): void {
    const d = keyDecision(this.key(box), rec);
    if (d.alarm) this.alarm(box, d.alarm.kind, d.alarm.detail, seq);
    if (d.store)
      this.db.prepare('INSERT OR REPLACE INTO box_keys (box, vkey, origin, trusted, note, since_ms) VALUES (?, ?, ?, ?, ?, ?)').run(box, rec.key, rec.origin, d.trusted ? 1 : 0, rec.note, this.now());
  }

  /** Last checkpoint held for the box that passed. */
  last(box: string): { size: number; root: Buffer; time?: number } | undefined {
    const r = this.db.prepare('SELECT size, root, time_ms FROM box_checkpoints WHERE box = ? AND ok = 1 ORDER BY rowid DESC LIMIT 1').get(box) as
      | { size: number; root: Buffer; time_ms: number | null }
      | undefined;
    return r ? { size: r.size, root: r.root, time: r.time_ms ?? undefined } : undefined;
  }

  /** A `checkpoint` record (see checkpointDecision). */
  onCheckpoint(box: string, seq: number, rec: CheckpointRecord, conflict = false): boolean {
    const d = checkpointDecision(this.key(box), this.last(box), seq, rec, conflict);
    this.db
      .prepare('INSERT INTO box_checkpoints (box, seq, size, root, time_ms, record, ok, received_ms, conflict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(box, seq, d.size, d.root, d.time, JSON.stringify(rec), d.ok ? 1 : 0, this.now(), conflict ? 1 : 0);
    if (d.alarm) this.alarm(box, d.alarm.kind, d.alarm.detail, seq);
    return d.ok;
  }

  alarms(box?: string): WitnessAlarmRow[] {
    return (
      box
        ? this.db.prepare('SELECT box, kind, detail, seq FROM witness_alarms WHERE box = ? ORDER BY id').all(box)
        : this.db.prepare('SELECT box, kind, detail, seq FROM witness_alarms ORDER BY id').all()
    ) as WitnessAlarmRow[];
  }

  boxes(): Array<{ box: string; checkpoints: number; size: number | null }> {
    return this.db.prepare('SELECT box, COUNT(*) AS checkpoints, MAX(CASE WHEN ok = 1 THEN size END) AS size FROM box_checkpoints GROUP BY box ORDER BY box').all() as Array<{
      box: string;
      checkpoints: number;
      size: number | null;
    }>;
  }
}
