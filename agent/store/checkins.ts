import fs from 'node:fs';
import type { Store } from './store.js';
import { Outbox } from './outbox.js';
import { ClassRepo } from './classes.js';
import { evidenceLog, type EvidenceLog } from './evidence-log.js';
import type { CheckIn, IngestOutcome, Parsed, RawInput, StoredCheckIn } from '../checkin/types.js';

/** One request or stream part waiting for the group commit. */
export interface IntakeItem {
  raw: RawInput;
  /** pure parse of the raw body; may throw (the raw row is then kept as 'unparsable') */
  parse: (body: Buffer) => Parsed;
  /** raw body bytes to keep (bounded); defaults to raw.body */
  keep?: Buffer;
  truncated?: boolean;
}

export interface TerminalStateRow {
  terminal: string;
  protocol: string;
  last_event_ms: number | null;
  last_contact_ms: number | null;
  last_heartbeat_ms: number | null;
  skew_ms: number | null;
  cursor: string | null;
  last_event_at_ms: number | null;
  updated_ms: number;
}

interface CheckinRow {
  id: number;
  dedup_key: string;
  terminal: string;
  person: string;
  trainee: string | null;
  class_id: string | null;
  at_ms: number;
  tz_offset_min: number | null;
  verify_mode: string | null;
  similarity: number | null;
  raw_id: number | null;
}

export interface RawRow {
  id: number;
  protocol: string;
  terminal: string | null;
  channel: string;
  method: string | null;
  path: string | null;
  content_type: string | null;
  body_bytes: number;
  truncated: number;
  status: string;
  error: string | null;
  checkins: number;
  duplicates: number;
  unknown: number;
  received_ms: number;
}

interface Health {
  terminal: string;
  protocol: string;
  lastEvent: number | null;
  now: number;
  lastEventAt: number | null;
  skew: number | null;
  cursor: string | null;
}

const ROSTER_TTL_MS = 5000;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Check-in intake and queries. commit() is the group commit: every raw input of the batch is
 * inserted first, then parsed, then its check-ins (INSERT OR IGNORE on dedup_key) and outbox
 * records, all in ONE transaction, so one fsync covers many terminal requests and nothing is
 * acknowledged that is not on disk.
 */
export class CheckinRepo {
  private outbox: Outbox;
  private classes: ClassRepo;
  private log: EvidenceLog;
  private roster?: { at: number; idx: Map<string, { classId: string; trainee: string }[]> };
  private st;

  constructor(private store: Store) {
    this.outbox = new Outbox(store);
    this.classes = new ClassRepo(store);
    this.log = evidenceLog(store);
    const db = store.db;
    this.st = {
      raw: db.prepare(
        `INSERT INTO raw_inputs (protocol, terminal, channel, method, path, content_type, body, body_bytes, truncated, received_ms, created_ms, expires_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      rawDone: db.prepare('UPDATE raw_inputs SET status = ?, error = ?, checkins = ?, duplicates = ?, unknown = ? WHERE id = ?'),
      ins: db.prepare(
        // why not INSERT OR IGNORE: OR IGNORE also swallows NOT NULL and CHECK failures, which would
        // count a broken row as a "duplicate" and drop it silently. Only a dedup_key clash is one.
        `INSERT INTO checkins (dedup_key, terminal, person, trainee, class_id, at_ms, tz_offset_min, verify_mode, similarity, raw_id, created_ms, expires_ms, sync_state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT(dedup_key) DO NOTHING`,
      ),
      state: db.prepare(
        `INSERT INTO terminal_state (terminal, protocol, last_event_ms, last_contact_ms, last_event_at_ms, skew_ms, cursor, updated_ms)
         VALUES (@terminal, @protocol, @lastEvent, @now, @lastEventAt, @skew, @cursor, @now)
         ON CONFLICT(terminal) DO UPDATE SET
           last_event_ms = COALESCE(excluded.last_event_ms, last_event_ms),
           last_contact_ms = MAX(COALESCE(last_contact_ms, 0), excluded.last_contact_ms),
           last_event_at_ms = MAX(COALESCE(last_event_at_ms, 0), COALESCE(excluded.last_event_at_ms, 0)),
           skew_ms = COALESCE(excluded.skew_ms, skew_ms),
           cursor = COALESCE(excluded.cursor, cursor),
           updated_ms = excluded.updated_ms`,
      ),
      hb: db.prepare(
        `INSERT INTO terminal_state (terminal, protocol, last_contact_ms, last_heartbeat_ms, skew_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(terminal) DO UPDATE SET last_contact_ms = MAX(COALESCE(last_contact_ms, 0), excluded.last_contact_ms),
           last_heartbeat_ms = COALESCE(excluded.last_heartbeat_ms, last_heartbeat_ms), skew_ms = COALESCE(excluded.skew_ms, skew_ms), updated_ms = excluded.updated_ms`,
      ),
    };
  }

  /** Terminal PIN/employeeNo or trainee id → trainee; cached briefly (class imports run in other processes). */
  private mapPerson(person: string, at: number): { trainee: string; classId: string } | null {
    const now = this.store.now();
    if (!this.roster || now - this.roster.at > ROSTER_TTL_MS || now < this.roster.at) this.roster = { at: now, idx: this.classes.rosterIndex() };
    const c = this.roster.idx.get(person);
    if (!c?.length) return null;
    if (c.length === 1) return c[0];
    // the same PIN in two classes: the class with a lesson that day wins
    const on = new Set(this.classes.lessonsBetween(at - DAY_MS / 2, at + DAY_MS / 2).map((l) => l.classId));
    return c.find((x) => on.has(x.classId)) ?? c[0];
  }

  invalidateRoster(): void {
    this.roster = undefined;
  }

  private walFd?: number;
  private syncing = false;
  private syncWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  /**
   * Group commit with the fsync off the event loop. The transaction is committed with
   * synchronous=NORMAL (written to the WAL, no fsync), then the WAL file is fsynced on libuv's
   * thread pool; `durable` resolves when that fsync, started after the commit, has finished.
   * Only then may the terminals be answered. Same guarantee as synchronous=FULL for these
   * commits (their WAL frames are on disk before the ack), but the event loop keeps reading
   * requests and committing the next batch while the disk syncs: the next batch's fsync
   * starts when this one ends (pipelined group commit). Other modules' writes on the shared
   * connection keep FULL: the pragma is switched back right after this transaction.
   */
  commitDurable(items: IntakeItem[]): { outcomes: IngestOutcome[]; durable: Promise<void> } {
    const db = this.store.db;
    const wal = String(db.pragma('journal_mode', { simple: true })) === 'wal';
    if (!wal) return { outcomes: this.commit(items), durable: Promise.resolve() };
    db.pragma('synchronous = NORMAL');
    let outcomes: IngestOutcome[];
    try {
      outcomes = this.commit(items);
    } finally {
      db.pragma('synchronous = FULL');
    }
    const durable = new Promise<void>((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
    this.kickSync();
    return { outcomes, durable };
  }

  private kickSync(): void {
    if (this.syncing || !this.syncWaiters.length) return;
    const group = this.syncWaiters.splice(0);
    this.syncing = true;
    try {
      // same inode for the connection's life: SQLite resets the WAL in place, never replaces it
      this.walFd ??= fs.openSync(`${this.store.file}-wal`, 'r');
    } catch (err) {
      this.syncing = false;
      for (const g of group) g.reject(err);
      return;
    }
    fs.fsync(this.walFd, (err) => {
      this.syncing = false;
      for (const g of group) (err ? g.reject(err) : g.resolve());
      this.kickSync();
    });
  }

  /**
   * Last resort for an input whose check-ins cannot be written (a bug, a value SQLite refuses):
   * keep the raw input alone, marked 'unparsable' with the error, so it is reported and can be
   * re-read later, instead of failing its terminal's retries forever.
   */
  commitRawOnly(it: IntakeItem, error: string): { outcomes: IngestOutcome[]; durable: Promise<void> } {
    return this.commitDurable([{ ...it, parse: () => { throw new Error(`not stored: ${error}`); } }]);
  }

  /** Close the WAL handle (after the last durable() has settled). */
  close(): void {
    if (this.walFd !== undefined) fs.closeSync(this.walFd);
    this.walFd = undefined;
  }

  /** Group commit of raw inputs and their check-ins. Throws only when SQLite fails (nothing committed). */
  commit(items: IntakeItem[]): IngestOutcome[] {
    const now = this.store.now();
    return this.store.tx(() => {
      const health = new Map<string, Health>();
      const out = items.map((it) => this.commitOne(it, now, health));
      // one terminal_state write per terminal per batch, not per request
      for (const h of health.values()) this.st.state.run(h);
      return out;
    });
  }

  private commitOne(it: IntakeItem, now: number, health: Map<string, Health>): IngestOutcome {
    const r = it.raw;
    const keep = it.keep ?? r.body;
    // 1. the raw input, before anything may fail on its content
    const rawRow = { protocol: r.protocol, terminal: r.terminal, channel: r.channel, method: r.method ?? null, path: r.path ?? null, content_type: r.contentType ?? null, body: keep, body_bytes: r.body.length, truncated: it.truncated ? 1 : 0, received_ms: r.receivedMs, expires_ms: this.store.expiresAt(r.receivedMs) };
    const rawId = Number(
      this.st.raw.run(rawRow.protocol, rawRow.terminal, rawRow.channel, rawRow.method, rawRow.path, rawRow.content_type, keep, rawRow.body_bytes, rawRow.truncated, rawRow.received_ms, now, rawRow.expires_ms).lastInsertRowid,
    );
    this.log.inserted('raw_inputs', [rawId], rawRow);
    // 2. parse: a parser bug or garbage marks the raw row, never loses it or fails the batch
    let parsed: Parsed;
    try {
      parsed = it.parse(r.body);
    } catch (err) {
      const msg = String((err as Error)?.message ?? err).slice(0, 500);
      this.st.rawDone.run('unparsable', msg, 0, 0, 0, rawId);
      if (r.terminal) {
        const prev = health.get(r.terminal);
        health.set(r.terminal, { terminal: r.terminal, protocol: r.protocol, lastEvent: prev?.lastEvent ?? null, now: Math.max(r.receivedMs, prev?.now ?? 0), lastEventAt: prev?.lastEventAt ?? null, skew: prev?.skew ?? null, cursor: prev?.cursor ?? null });
      }
      return { rawId, stored: [], duplicates: 0, unknown: 0, rejects: [], status: 'unparsable', error: msg };
    }
    // 3. check-ins, deduplicated, with their outbox records
    const stored: StoredCheckIn[] = [];
    let duplicates = 0;
    let unknown = 0;
    let newest: CheckIn | undefined;
    const rejects = [...parsed.rejects];
    for (const c of parsed.checkins) {
      // a parser's slip (no time, no person) is reported with the raw input, never stored half-made
      if (!Number.isFinite(c.at) || !c.person || !c.terminal || !c.dedupKey) {
        rejects.push({ where: `check-in ${c.person || '?'}`, message: 'incomplete (time, person, terminal or key missing)' });
        continue;
      }
      const m = this.mapPerson(c.person, c.at);
      const row = { dedup_key: c.dedupKey, terminal: c.terminal, person: c.person, trainee: m?.trainee ?? null, class_id: m?.classId ?? null, at_ms: c.at, tz_offset_min: c.tzOffsetMin, verify_mode: c.verifyMode, similarity: c.similarity, raw_id: rawId, expires_ms: this.store.expiresAt(c.at) };
      const res = this.st.ins.run(row.dedup_key, row.terminal, row.person, row.trainee, row.class_id, row.at_ms, row.tz_offset_min, row.verify_mode, row.similarity, row.raw_id, now, row.expires_ms);
      if (!res.changes) {
        duplicates++;
        continue;
      }
      if (!m) unknown++;
      const id = Number(res.lastInsertRowid);
      this.log.inserted('checkins', [id], row);
      stored.push({ ...c, id, trainee: m?.trainee ?? null, classId: m?.classId ?? null, rawId });
      if (!newest || c.at > newest.at) newest = c;
      // what the provincial system learns: the terminal's person id and the mapped trainee, never names
      this.outbox.enqueue('checkin', c.at, {
        id,
        terminal: c.terminal,
        protocol: c.protocol,
        person: c.person,
        trainee: m?.trainee ?? null,
        classId: m?.classId ?? null,
        at: c.at,
        tzOffsetMin: c.tzOffsetMin,
        verifyMode: c.verifyMode,
        similarity: c.similarity,
      });
    }
    const usable = parsed.checkins.length - (rejects.length - parsed.rejects.length);
    const status: IngestOutcome['status'] = parsed.ignored && !parsed.checkins.length && !rejects.length
      ? 'ignored'
      : rejects.length
        ? (usable > 0 ? 'partial' : 'unparsable')
        : 'ok';
    const error = rejects.length ? rejects.slice(0, 20).map((x) => `${x.where}: ${x.message}`).join('; ').slice(0, 1000) : null;
    this.st.rawDone.run(status, error, stored.length, duplicates, unknown, rawId);
    // 4. terminal health: contact, newest event, clock skew when the input is live (pushed within minutes)
    const terminals = new Set<string>(parsed.checkins.map((c) => c.terminal));
    if (r.terminal) terminals.add(r.terminal);
    for (const t of terminals) {
      const mine = parsed.checkins.filter((c) => c.terminal === t);
      const latest = mine.reduce<CheckIn | undefined>((a, c) => (!a || c.at > a.at ? c : a), undefined);
      const live = latest && r.channel !== 'search' && Math.abs(latest.at - r.receivedMs) < 10 * 60_000 ? latest.at - r.receivedMs : null;
      const prev = health.get(t);
      health.set(t, {
        terminal: t,
        protocol: r.protocol,
        lastEvent: mine.length ? r.receivedMs : prev?.lastEvent ?? null,
        now: Math.max(r.receivedMs, prev?.now ?? 0),
        lastEventAt: Math.max(latest?.at ?? 0, prev?.lastEventAt ?? 0) || null,
        skew: live ?? prev?.skew ?? null,
        cursor: (t === r.terminal ? parsed.cursor : undefined) ?? prev?.cursor ?? null,
      });
    }
    return { rawId, stored, duplicates, unknown, rejects, status, error: error ?? undefined };
  }

  /**
   * Check-ins of people unknown when they arrived, matched again against today's rosters (a class
   * imported after its first morning, a terminalIds entry added). Each newly matched check-in is
   * announced again to the provincial system with its trainee. Returns how many were matched.
   */
  remapUnknown(limit = 5000): number {
    this.invalidateRoster();
    const rows = this.store.db
      .prepare('SELECT id, terminal, person, at_ms, tz_offset_min, verify_mode, similarity FROM checkins WHERE trainee IS NULL ORDER BY id LIMIT ?')
      .all(limit) as { id: number; terminal: string; person: string; at_ms: number; tz_offset_min: number | null; verify_mode: string | null; similarity: number | null }[];
    if (!rows.length) return 0;
    const upd = this.store.db.prepare('UPDATE checkins SET trainee = ?, class_id = ? WHERE id = ? AND trainee IS NULL');
    return this.store.tx(() => {
      let n = 0;
      for (const r of rows) {
        const m = this.mapPerson(r.person, r.at_ms);
        if (!m) continue;
        upd.run(m.trainee, m.classId, r.id);
        // a correction: a new log entry pointing at the check-in's earlier one
        this.log.row('checkins', [r.id]);
        this.outbox.enqueue('checkin', r.at_ms, {
          id: r.id, terminal: r.terminal, person: r.person, trainee: m.trainee, classId: m.classId, at: r.at_ms,
          tzOffsetMin: r.tz_offset_min, verifyMode: r.verify_mode, similarity: r.similarity, remapped: true,
        });
        n++;
      }
      return n;
    });
  }

  /** A heartbeat or poll (ZKTeco getrequest, stream heartbeat): contact without data. */
  heartbeat(terminal: string, protocol: string, at: number, skewMs: number | null = null): void {
    this.st.hb.run(terminal, protocol, at, at, skewMs, this.store.now());
  }

  state(terminal: string): TerminalStateRow | undefined {
    return this.store.db.prepare('SELECT * FROM terminal_state WHERE terminal = ?').get(terminal) as TerminalStateRow | undefined;
  }

  states(): TerminalStateRow[] {
    return this.store.db.prepare('SELECT * FROM terminal_state ORDER BY terminal').all() as TerminalStateRow[];
  }

  list(opts: { limit?: number; unknownOnly?: boolean; terminal?: string } = {}): StoredCheckIn[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.unknownOnly) where.push('trainee IS NULL');
    if (opts.terminal) (where.push('terminal = ?'), args.push(opts.terminal));
    const rows = this.store.db
      .prepare(`SELECT * FROM checkins ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at_ms DESC, id DESC LIMIT ?`)
      .all(...args, opts.limit ?? 100) as CheckinRow[];
    return rows.map((r) => ({
      id: r.id,
      protocol: (r.dedup_key.split(':')[0] === 'zk' ? 'zkteco' : r.dedup_key.split(':')[0] === 'hik' ? 'hikvision' : r.dedup_key.split(':')[0]) as CheckIn['protocol'],
      terminal: r.terminal,
      person: r.person,
      at: r.at_ms,
      tzOffsetMin: r.tz_offset_min,
      verifyMode: r.verify_mode,
      similarity: r.similarity,
      dedupKey: r.dedup_key,
      trainee: r.trainee,
      classId: r.class_id,
      rawId: r.raw_id,
    }));
  }

  /** Raw inputs that could not be (fully) read: kept for a human and for re-parsing. */
  problems(limit = 100): RawRow[] {
    return this.store.db
      .prepare(`SELECT id, protocol, terminal, channel, method, path, content_type, body_bytes, truncated, status, error, checkins, duplicates, unknown, received_ms
                FROM raw_inputs WHERE status IN ('unparsable','partial') ORDER BY id DESC LIMIT ?`)
      .all(limit) as RawRow[];
  }

  rawBody(id: number): Buffer | undefined {
    return (this.store.db.prepare('SELECT body FROM raw_inputs WHERE id = ?').get(id) as { body: Buffer } | undefined)?.body;
  }

  counts(): { checkins: number; unknown: number; raw: number; problems: number } {
    const g = (sql: string) => (this.store.db.prepare(sql).pluck().get() as number) ?? 0;
    return {
      checkins: g('SELECT COUNT(*) FROM checkins'),
      unknown: g('SELECT COUNT(*) FROM checkins WHERE trainee IS NULL'),
      raw: g('SELECT COUNT(*) FROM raw_inputs'),
      problems: g("SELECT COUNT(*) FROM raw_inputs WHERE status IN ('unparsable','partial')"),
    };
  }
}
