import DatabaseCtor from 'better-sqlite3';
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
    const cur = this.key(box);
    let trusted = false;
    try {
      const v = parseVerifierKey(rec.key);
      const text = keyStatement(rec.origin, rec.key, rec.previous);
      // opened once per key: old and new keys share the box's name, so names cannot tell them apart
      const n = openNote(rec.note, [v]);
      if (n.text !== text || !n.verified.length) throw new Error('key statement not signed by the new key');
      const byOld = cur ? openNote(rec.note, [parseVerifierKey(cur.vkey)]).verified.length > 0 : false;
      if (!cur)
        trusted = true; // registration: the first key of a box
      else if (cur.vkey === rec.key) return;
      else if (rec.previous === cur.vkey && byOld) trusted = true;
      else this.alarm(box, 'key-change-unsigned', `new key ${rec.key} not signed by the registered key ${cur.vkey}`, seq);
    } catch (err) {
      this.alarm(box, 'bad-signature', `log-key record: ${(err as Error).message}`, seq);
    }
    this.db.prepare('INSERT OR REPLACE INTO box_keys (box, vkey, origin, trusted, note, since_ms) VALUES (?, ?, ?, ?, ?, ?)').run(box, rec.key, rec.origin, trusted ? 1 : 0, rec.note, this.now());
  }

  /** Last checkpoint held for the box that passed. */
  last(box: string): { size: number; root: Buffer; time?: number } | undefined {
    const r = this.db.prepare('SELECT size, root, time_ms FROM box_checkpoints WHERE box = ? AND ok = 1 ORDER BY rowid DESC LIMIT 1').get(box) as
      | { size: number; root: Buffer; time_ms: number | null }
      | undefined;
    return r ? { size: r.size, root: r.root, time: r.time_ms ?? undefined } : undefined;
  }

  /**
   * A `checkpoint` record. `conflict`: it came with a sequence number the box had already used
   * for another record (the box's database was replaced by an older copy).
   */
  onCheckpoint(box: string, seq: number, rec: CheckpointRecord, conflict = false): boolean {
    const key = this.key(box);
    const ins = this.db.prepare('INSERT INTO box_checkpoints (box, seq, size, root, time_ms, record, ok, received_ms, conflict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    if (!key) {
      this.alarm(box, 'no-key', 'checkpoint from a box with no registered key', seq);
      ins.run(box, seq, null, null, null, JSON.stringify(rec), 0, this.now(), conflict ? 1 : 0);
      return false;
    }
    const r = witnessStep(this.last(box), rec, key.vkey, key.origin);
    const ok = r.ok && !conflict;
    ins.run(box, seq, r.cp?.size ?? null, r.cp?.root ?? null, r.cp?.time ?? null, JSON.stringify(rec), ok ? 1 : 0, this.now(), conflict ? 1 : 0);
    if (!r.ok) this.alarm(box, r.alarm, r.detail, seq);
    else if (conflict)
      this.alarm(box, 'rollback', `checkpoint of size ${r.cp.size} sent with sequence ${seq}, already used by another record: the box's database was restored from an older copy`, seq);
    return ok;
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

/**
 * Check a central database again from scratch (`classroom-agent verify --central`): every box's
 * key and checkpoint records replayed in the box's sequence order through a fresh witness kept
 * in memory, plus the alarms raised when they arrived. Read-only on the file.
 */
export function replayCentral(file: string): { boxes: Array<{ box: string; checkpoints: number; size: number | null }>; alarms: WitnessAlarmRow[] } {
  const src = new DatabaseCtor(file, { readonly: true, fileMustExist: true });
  const mem = new DatabaseCtor(':memory:');
  try {
    const w = new Witness(mem, Date.now, logger('witness-replay'));
    const rows = src.prepare("SELECT box, seq, type, data FROM records WHERE type IN ('log-key', 'checkpoint') AND valid = 1 ORDER BY box, seq").all() as Array<{
      box: string;
      seq: number;
      type: string;
      data: string;
    }>;
    for (const r of rows) {
      if (r.type === 'log-key') w.onKey(r.box, r.seq, JSON.parse(r.data) as LogKeyRecord);
      else w.onCheckpoint(r.box, r.seq, JSON.parse(r.data) as CheckpointRecord);
    }
    const hasConflicts = src.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'conflicts'").get();
    if (hasConflicts) {
      for (const c of src.prepare('SELECT box, seq, body FROM conflicts ORDER BY id').all() as Array<{ box: string; seq: number; body: string }>) {
        const rec = JSON.parse(c.body) as { type: string; data: unknown };
        if (rec.type === 'checkpoint') w.onCheckpoint(c.box, c.seq, rec.data as CheckpointRecord, true);
      }
    }
    return { boxes: w.boxes(), alarms: w.alarms() };
  } finally {
    src.close();
    mem.close();
  }
}
