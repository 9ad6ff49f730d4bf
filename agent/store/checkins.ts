import fs from 'node:fs';
import type { Statement } from 'better-sqlite3';
import type { Store } from './store.js';
import { Outbox } from './outbox.js';
import { ClassRepo } from './classes.js';
import { evidenceLog, type EvidenceLog } from './evidence-log.js';
import type { CheckIn, IngestOutcome, Parsed, RawInput, StoredCheckIn, TerminalEvent } from '../checkin/types.js';
import { retentionBase, timeFlag } from '../checkin/clock.js';

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
  counter: string | null;
  person_name: string | null;
  event_code: string | null;
  received_ms: number | null;
  time_flag: string | null;
  correction_id: number | null;
}

export interface TerminalEventRow {
  id: number;
  kind: 'not-a-pass' | 'unknown-code' | 'counter-reuse';
  terminal: string;
  protocol: string;
  code: string;
  meaning: string | null;
  person: string | null;
  person_name: string | null;
  at_ms: number | null;
  raw_id: number | null;
  received_ms: number;
}

export interface SerialRow {
  protocol: string;
  serial: string;
  first_ms: number;
  last_ms: number;
  requests: number;
  address: string | null;
  approved_ms: number | null;
  terminal_id: string | null;
  timezone: string | null;
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
  heartbeat: number | null;
}

/** Check-ins just stored, as the log takes them (evidence-log.ts BATCH_KIND). */
type Logged = Array<{ id: number; row: Record<string, unknown> }>;

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
        `INSERT INTO checkins (dedup_key, terminal, person, trainee, class_id, at_ms, tz_offset_min, verify_mode, similarity, raw_id, created_ms, expires_ms, sync_state,
                               counter, person_name, event_code, received_ms, time_flag)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) ON CONFLICT(dedup_key) DO NOTHING`,
      ),
      // the same device counter on another row: either the same real event under a key of an older
      // version (same person and time: a duplicate) or a counter reused after a reset (a new event)
      byCounter: db.prepare('SELECT person, at_ms FROM checkins WHERE terminal = ? AND counter = ?'),
      event: db.prepare(
        `INSERT INTO terminal_events (dedup_key, kind, terminal, protocol, code, meaning, person, person_name, at_ms, raw_id, received_ms, created_ms, expires_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedup_key) DO NOTHING`,
      ),
      state: db.prepare(
        `INSERT INTO terminal_state (terminal, protocol, last_event_ms, last_contact_ms, last_heartbeat_ms, last_event_at_ms, skew_ms, cursor, updated_ms)
         VALUES (@terminal, @protocol, @lastEvent, @now, @heartbeat, @lastEventAt, @skew, @cursor, @now)
         ON CONFLICT(terminal) DO UPDATE SET
           last_event_ms = COALESCE(excluded.last_event_ms, last_event_ms),
           last_heartbeat_ms = COALESCE(excluded.last_heartbeat_ms, last_heartbeat_ms),
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
      for (const g of group) err ? g.reject(err) : g.resolve();
      this.kickSync();
    });
  }

  /**
   * Last resort for an input whose check-ins cannot be written (a bug, a value SQLite refuses):
   * keep the raw input alone, marked 'unparsable' with the error, so it is reported and can be
   * re-read later, instead of failing its terminal's retries forever.
   */
  commitRawOnly(it: IntakeItem, error: string): { outcomes: IngestOutcome[]; durable: Promise<void> } {
    return this.commitDurable([
      {
        ...it,
        parse: () => {
          throw new Error(`not stored: ${error}`);
        },
      },
    ]);
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
    const rawRow = {
      protocol: r.protocol,
      terminal: r.terminal,
      channel: r.channel,
      method: r.method ?? null,
      path: r.path ?? null,
      content_type: r.contentType ?? null,
      body: keep,
      body_bytes: r.body.length,
      truncated: it.truncated ? 1 : 0,
      received_ms: r.receivedMs,
      expires_ms: this.store.expiresAt(r.receivedMs),
    };
    const rawId = Number(
      this.st.raw.run(
        rawRow.protocol,
        rawRow.terminal,
        rawRow.channel,
        rawRow.method,
        rawRow.path,
        rawRow.content_type,
        keep,
        rawRow.body_bytes,
        rawRow.truncated,
        rawRow.received_ms,
        now,
        rawRow.expires_ms,
      ).lastInsertRowid,
    );
    // 2. parse: a parser bug or garbage marks the raw row, never loses it or fails the batch
    let parsed: Parsed;
    try {
      parsed = it.parse(r.body);
    } catch (err) {
      const msg = String((err as Error)?.message ?? err).slice(0, 500);
      this.rawDoneLogged().run('unparsable', msg, 0, 0, 0, this.log.insertedRaw(rawId, rawRow), rawId);
      if (r.terminal) {
        const prev = health.get(r.terminal);
        health.set(r.terminal, {
          terminal: r.terminal,
          protocol: r.protocol,
          lastEvent: prev?.lastEvent ?? null,
          now: Math.max(r.receivedMs, prev?.now ?? 0),
          lastEventAt: prev?.lastEventAt ?? null,
          skew: prev?.skew ?? null,
          cursor: prev?.cursor ?? null,
          heartbeat: prev?.heartbeat ?? null,
        });
      }
      return { rawId, stored: [], duplicates: 0, unknown: 0, rejects: [], status: 'unparsable', error: msg };
    }
    // the raw input's log entry carries the check-ins its request gave: one entry per request
    return this.commitParsed(r, rawId, parsed, now, health, rawRow);
  }

  // prepared at the first live commit (a read-only store of an older schema never needs it)
  private rawDoneSt?: Statement;
  /** rawDone, also storing the raw input's log entry (evidence-log.ts insertedRaw: its leaf, log_seq). */
  private rawDoneLogged(): Statement {
    this.rawDoneSt ??= this.store.db.prepare('UPDATE raw_inputs SET status = ?, error = ?, checkins = ?, duplicates = ?, unknown = ?, log_seq = ? WHERE id = ?');
    return this.rawDoneSt;
  }

  /**
   * Steps 3-4 of a commit: shared by live input and `checkins reparse`. `live`: the raw input's
   * row as inserted; its log entry is written here, carrying the check-ins stored (live input);
   * without it they are logged as one `checkins` entry (a re-read of a raw input already logged).
   */
  private commitParsed(r: RawInput, rawId: number, parsed: Parsed, now: number, health: Map<string, Health>, live?: Record<string, unknown>): IngestOutcome {
    // 3. check-ins, deduplicated by the real event's identity, with their outbox records
    const stored: StoredCheckIn[] = [];
    let duplicates = 0;
    let unknown = 0;
    let counterReuse = 0;
    let newest: CheckIn | undefined;
    const rejects = [...parsed.rejects];
    const logged: Logged = [];
    for (const c of parsed.checkins) {
      // a parser's slip (no time, no person) is reported with the raw input, never stored half-made
      if (!Number.isFinite(c.at) || !c.person || !c.terminal || !c.dedupKey) {
        rejects.push({ where: `check-in ${c.person || '?'}`, message: 'incomplete (time, person, terminal or key missing)' });
        continue;
      }
      let reused = false;
      if (c.counter) {
        const same = this.st.byCounter.all(c.terminal, c.counter) as { person: string; at_ms: number }[];
        if (same.some((x) => x.person === c.person && x.at_ms === c.at)) {
          duplicates++;
          continue;
        }
        reused = same.length > 0;
      }
      const m = this.mapPerson(c.person, c.at);
      const flag = timeFlag(c.at, r.receivedMs);
      const row = {
        dedup_key: c.dedupKey,
        terminal: c.terminal,
        person: c.person,
        trainee: m?.trainee ?? null,
        class_id: m?.classId ?? null,
        at_ms: c.at,
        tz_offset_min: c.tzOffsetMin,
        verify_mode: c.verifyMode,
        similarity: c.similarity,
        raw_id: rawId,
        expires_ms: this.store.expiresAt(retentionBase(c.at, r.receivedMs)),
      };
      const res = this.st.ins.run(
        row.dedup_key,
        row.terminal,
        row.person,
        row.trainee,
        row.class_id,
        row.at_ms,
        row.tz_offset_min,
        row.verify_mode,
        row.similarity,
        row.raw_id,
        now,
        row.expires_ms,
        c.counter ?? null,
        c.name ?? null,
        c.code ?? null,
        r.receivedMs,
        flag,
      );
      if (!res.changes) {
        duplicates++;
        continue;
      }
      if (reused) {
        counterReuse++;
        // reported: a device replaced or its log reset; the new event is stored, not dropped
        this.st.event.run(
          `reuse:${c.dedupKey}`,
          'counter-reuse',
          c.terminal,
          r.protocol,
          `counter ${c.counter}`,
          'device event counter used again (device replaced or event log reset)',
          c.person,
          c.name ?? null,
          c.at,
          rawId,
          r.receivedMs,
          now,
          this.store.expiresAt(retentionBase(c.at, r.receivedMs)),
        );
      }
      if (!m) unknown++;
      const id = Number(res.lastInsertRowid);
      logged.push({ id, row });
      stored.push({ ...c, id, trainee: m?.trainee ?? null, classId: m?.classId ?? null, rawId, receivedMs: r.receivedMs, timeFlag: flag });
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
        ...(flag ? { timeFlag: flag, receivedAt: r.receivedMs } : {}),
      });
    }
    // a re-read's check-ins: one log entry, in the same transaction (evidence-log.ts BATCH_KIND)
    if (!live && logged.length) this.log.insertedBatch(rawId, logged);
    // 3b. events kept but never counted: failed checks, door events, codes not in the vendor table
    for (const e of parsed.events ?? []) this.recordEvent(e, r, rawId, now);
    const usable = parsed.checkins.length - (rejects.length - parsed.rejects.length);
    const notCounted = parsed.events?.length ?? 0;
    const status: IngestOutcome['status'] =
      parsed.ignored && !parsed.checkins.length && !rejects.length ? 'ignored' : rejects.length ? (usable > 0 || notCounted > 0 ? 'partial' : 'unparsable') : 'ok';
    const error = rejects.length
      ? rejects
          .slice(0, 20)
          .map((x) => `${x.where}: ${x.message}`)
          .join('; ')
          .slice(0, 1000)
      : null;
    if (live) this.rawDoneLogged().run(status, error, stored.length, duplicates, unknown, this.log.insertedRaw(rawId, live, logged), rawId);
    else this.st.rawDone.run(status, error, stored.length, duplicates, unknown, rawId);
    // 4. terminal health: contact, heartbeat, newest event, clock skew.
    // Skew at any size: an input that carries one event on a live channel was sent as it happened,
    // so its claimed time minus our receipt time is the terminal's clock error (3 h, 8 h: a wrong
    // zone). A batch (backlog after an outage) tells nothing about the past, but a time in the
    // future is wrong whatever the channel.
    const terminals = new Set<string>(parsed.checkins.map((c) => c.terminal));
    if (r.terminal) terminals.add(r.terminal);
    for (const t of terminals) {
      const mine = parsed.checkins.filter((c) => c.terminal === t);
      const latest = mine.reduce<CheckIn | undefined>((a, c) => (!a || c.at > a.at ? c : a), undefined);
      const d = latest ? latest.at - r.receivedMs : null;
      const live = d !== null && r.channel !== 'search' && (mine.length === 1 || d > 0) ? d : null;
      const prev = health.get(t);
      health.set(t, {
        terminal: t,
        protocol: r.protocol,
        lastEvent: mine.length ? r.receivedMs : (prev?.lastEvent ?? null),
        now: Math.max(r.receivedMs, prev?.now ?? 0),
        lastEventAt: Math.max(latest?.at ?? 0, prev?.lastEventAt ?? 0) || null,
        skew: live ?? prev?.skew ?? null,
        cursor: (t === r.terminal ? parsed.cursor : undefined) ?? prev?.cursor ?? null,
        heartbeat: parsed.heartbeat && t === r.terminal ? r.receivedMs : (prev?.heartbeat ?? null),
      });
    }
    return { rawId, stored, duplicates, unknown, rejects, counterReuse, notCounted, status, error: error ?? undefined };
  }

  private recordEvent(e: TerminalEvent, r: RawInput, rawId: number | null, now: number): void {
    const base = retentionBase(e.at ?? r.receivedMs, r.receivedMs);
    const key = `${e.kind}:${e.terminal}:${e.code}:${e.person ?? ''}:${e.at ?? `raw${rawId}`}`;
    this.st.event.run(key, e.kind, e.terminal, r.protocol, e.code, e.meaning, e.person, e.name, e.at, rawId, r.receivedMs, now, this.store.expiresAt(base));
  }

  /**
   * Check-ins of people unknown when they arrived, matched again against today's rosters (a class
   * imported after its first morning, a terminalIds entry added). The check-in row itself is
   * evidence and is never edited: each match is a correction row pointing at it, and every
   * reader goes through checkins_current. Each newly matched check-in is announced again to the
   * provincial system with its trainee. Returns how many were matched.
   */
  remapUnknown(limit = 5000): number {
    this.invalidateRoster();
    const rows = this.store.db
      .prepare('SELECT id, terminal, person, at_ms, tz_offset_min, verify_mode, similarity, expires_ms FROM checkins_current WHERE trainee IS NULL ORDER BY id LIMIT ?')
      .all(limit) as { id: number; terminal: string; person: string; at_ms: number; tz_offset_min: number | null; verify_mode: string | null; similarity: number | null; expires_ms: number }[];
    if (!rows.length) return 0;
    return this.store.tx(() => {
      let n = 0;
      for (const r of rows) {
        const m = this.mapPerson(r.person, r.at_ms);
        if (!m) continue;
        const cid = this.correct(r.id, { reason: 'remap', trainee: m.trainee, classId: m.classId, expiresMs: r.expires_ms });
        this.outbox.enqueue('checkin', r.at_ms, {
          id: r.id,
          terminal: r.terminal,
          person: r.person,
          trainee: m.trainee,
          classId: m.classId,
          at: r.at_ms,
          tzOffsetMin: r.tz_offset_min,
          verifyMode: r.verify_mode,
          similarity: r.similarity,
          remapped: true,
          correction: cid,
        });
        n++;
      }
      return n;
    });
  }

  /**
   * A correction of one check-in: a new row pointing at it (never an edit of the hashed row).
   * The latest correction of a check-in is its current view. One function per fact kind: the
   * evidence log routes these rows in.
   */
  correct(checkinId: number, c: { reason: 'remap' | 'reparse'; trainee?: string | null; classId?: string | null; voided?: boolean; rawId?: number | null; note?: string; expiresMs: number }): number {
    const row = {
      checkin_id: checkinId,
      reason: c.reason,
      trainee: c.trainee ?? null,
      class_id: c.classId ?? null,
      voided: c.voided ? 1 : 0,
      raw_id: c.rawId ?? null,
      note: c.note ?? null,
      created_ms: this.store.now(),
      expires_ms: c.expiresMs,
    };
    const id = Number(
      this.store.db
        .prepare('INSERT INTO checkin_corrections (checkin_id, reason, trainee, class_id, voided, raw_id, note, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(row.checkin_id, row.reason, row.trainee, row.class_id, row.voided, row.raw_id, row.note, row.created_ms, row.expires_ms).lastInsertRowid,
    );
    // a correction is a fact of its own in the evidence log; the check-in's entry stays as it was
    this.log.inserted('checkin_corrections', [id], row);
    return id;
  }

  /** Corrections of one check-in, oldest first (audit trail). */
  corrections(checkinId: number): { id: number; reason: string; trainee: string | null; class_id: string | null; voided: number; raw_id: number | null; note: string | null; created_ms: number }[] {
    return this.store.db.prepare('SELECT id, reason, trainee, class_id, voided, raw_id, note, created_ms FROM checkin_corrections WHERE checkin_id = ? ORDER BY id').all(checkinId) as never;
  }

  /** Raw inputs to read again (`checkins reparse`): the problem ones, or the ids given. */
  rawForReparse(ids?: number[]): (RawRow & { body: Buffer })[] {
    const cols = 'id, protocol, terminal, channel, method, path, content_type, body, body_bytes, truncated, status, error, checkins, duplicates, unknown, received_ms';
    if (ids?.length) return ids.map((id) => this.store.db.prepare(`SELECT ${cols} FROM raw_inputs WHERE id = ?`).get(id)).filter(Boolean) as never;
    return this.store.db.prepare(`SELECT ${cols} FROM raw_inputs WHERE status IN ('unparsable','partial') ORDER BY id`).all() as never;
  }

  /**
   * Apply a re-read of a stored raw input: check-ins the new parse finds that are not stored are
   * added (deduplicated like live input, pointing at the same raw row); check-ins of this raw row
   * the new parse no longer finds (a failed check counted by an older version) are voided by a
   * correction. Nothing is edited. Returns what changed.
   */
  applyReparse(rawId: number, parsed: Parsed | Error): { added: number; voided: number; events: number; status: string } {
    return this.store.tx(() => {
      const raw = this.store.db.prepare('SELECT protocol, terminal, channel, received_ms, truncated FROM raw_inputs WHERE id = ?').get(rawId) as
        | { protocol: RawInput['protocol']; terminal: string | null; channel: RawInput['channel']; received_ms: number }
        | undefined;
      if (!raw) throw new Error(`no raw input #${rawId}`);
      if (parsed instanceof Error) {
        this.st.rawDone.run('unparsable', parsed.message.slice(0, 500), 0, 0, 0, rawId);
        return { added: 0, voided: 0, events: 0, status: 'unparsable' };
      }
      const r: RawInput = { protocol: raw.protocol, terminal: raw.terminal, channel: raw.channel, body: Buffer.alloc(0), receivedMs: raw.received_ms };
      const keys = new Set(parsed.checkins.map((c) => c.dedupKey));
      const mine = this.store.db.prepare('SELECT id, dedup_key, expires_ms FROM checkins_current WHERE raw_id = ?').all(rawId) as { id: number; dedup_key: string; expires_ms: number }[];
      let voided = 0;
      for (const c of mine) {
        if (keys.has(c.dedup_key)) continue;
        this.correct(c.id, { reason: 'reparse', voided: true, rawId, note: 'not a check-in when read again', expiresMs: c.expires_ms });
        voided++;
      }
      const now = this.store.now();
      const health = new Map<string, Health>();
      // the same insert path as live input: dedupe, counters, time flags, events, outbox
      const out = this.commitParsed(r, rawId, parsed, now, health);
      return { added: out.stored.length, voided, events: parsed.events?.length ?? 0, status: out.status };
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

  /** Check-ins as they stand after corrections (checkins_current), newest first. */
  list(opts: { limit?: number; unknownOnly?: boolean; terminal?: string; flaggedOnly?: boolean } = {}): (StoredCheckIn & { name: string | null })[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.unknownOnly) where.push('trainee IS NULL');
    if (opts.flaggedOnly) where.push('time_flag IS NOT NULL');
    if (opts.terminal) where.push('terminal = ?'), args.push(opts.terminal);
    const rows = this.store.db
      .prepare(`SELECT * FROM checkins_current ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at_ms DESC, id DESC LIMIT ?`)
      .all(...args, opts.limit ?? 100) as CheckinRow[];
    const proto = (k: string) => ({ zk: 'zkteco', hik: 'hikvision', wh: 'webhook' })[k] ?? k;
    return rows.map((r) => ({
      id: r.id,
      protocol: proto(r.dedup_key.split(':')[0]) as CheckIn['protocol'],
      terminal: r.terminal,
      person: r.person,
      at: r.at_ms,
      tzOffsetMin: r.tz_offset_min,
      verifyMode: r.verify_mode,
      similarity: r.similarity,
      dedupKey: r.dedup_key,
      counter: r.counter,
      name: r.person_name,
      code: r.event_code,
      trainee: r.trainee,
      classId: r.class_id,
      rawId: r.raw_id,
      receivedMs: r.received_ms,
      timeFlag: r.time_flag,
      correctionId: r.correction_id,
    }));
  }

  /** Check-ins with implausible times a terminal sent since `sinceMs` (received), for the clock alarm. */
  flaggedSince(terminal: string, sinceMs: number): number {
    return this.store.db.prepare('SELECT COUNT(*) FROM checkins WHERE time_flag IS NOT NULL AND terminal = ? AND received_ms >= ?').pluck().get(terminal, sinceMs) as number;
  }

  /** Events kept but not counted, newest first: unknown codes, counter reuse (and, with all, failed checks). */
  events(opts: { kinds?: TerminalEventRow['kind'][]; limit?: number } = {}): TerminalEventRow[] {
    const kinds = opts.kinds ?? ['unknown-code', 'counter-reuse'];
    return this.store.db
      .prepare(
        `SELECT id, kind, terminal, protocol, code, meaning, person, person_name, at_ms, raw_id, received_ms FROM terminal_events WHERE kind IN (${kinds.map(() => '?').join(',')}) ORDER BY id DESC LIMIT ?`,
      )
      .all(...kinds, opts.limit ?? 100) as TerminalEventRow[];
  }

  /** A request from a serial no terminal is configured for: remembered for approval (ZKBioTime-style). */
  knock(protocol: string, serial: string, at: number, address: string | null): void {
    this.knocks([{ protocol, serial, first: at, last: at, requests: 1, address }], Number.POSITIVE_INFINITY);
  }

  /**
   * Knocks gathered over a while, in one transaction (one fsync, not one per unknown request).
   * Serials not yet in the table are added only while fewer than `maxPending` await approval:
   * a client inventing serials cannot grow the table without bound. Returns the knocks dropped.
   */
  knocks(rows: { protocol: string; serial: string; first: number; last: number; requests: number; address: string | null }[], maxPending: number): number {
    const db = this.store.db;
    const update = db.prepare(
      `UPDATE terminal_serials SET last_ms = MAX(last_ms, @last), requests = requests + @requests, address = COALESCE(@address, address) WHERE protocol = @protocol AND serial = @serial`,
    );
    const insert = db.prepare(`INSERT INTO terminal_serials (protocol, serial, first_ms, last_ms, requests, address) VALUES (@protocol, @serial, @first, @last, @requests, @address)`);
    const pending = db.prepare('SELECT COUNT(*) FROM terminal_serials WHERE approved_ms IS NULL').pluck();
    let dropped = 0;
    db.transaction(() => {
      let open = pending.get() as number;
      for (const r of rows) {
        const row = { ...r, serial: r.serial.slice(0, 64) };
        if (update.run(row).changes) continue;
        if (open >= maxPending) {
          dropped++;
          continue;
        }
        insert.run(row);
        open++;
      }
    })();
    return dropped;
  }

  /** Approve a serial: its requests are then accepted as terminal `terminalId` (default zk-<serial>). */
  approve(protocol: string, serial: string, terminalId: string, timezone: string): boolean {
    const now = this.store.now();
    const r = this.store.db
      .prepare(`INSERT INTO terminal_serials (protocol, serial, first_ms, last_ms, requests, approved_ms, terminal_id, timezone) VALUES (?, ?, ?, ?, 0, ?, ?, ?)
                ON CONFLICT(protocol, serial) DO UPDATE SET approved_ms = excluded.approved_ms, terminal_id = excluded.terminal_id, timezone = excluded.timezone`)
      .run(protocol, serial, now, now, now, terminalId, timezone);
    return r.changes > 0;
  }

  serials(opts: { pendingOnly?: boolean } = {}): SerialRow[] {
    return this.store.db.prepare(`SELECT * FROM terminal_serials ${opts.pendingOnly ? 'WHERE approved_ms IS NULL' : ''} ORDER BY last_ms DESC`).all() as SerialRow[];
  }

  approved(protocol: string, serial: string): SerialRow | undefined {
    return this.store.db.prepare('SELECT * FROM terminal_serials WHERE protocol = ? AND serial = ? AND approved_ms IS NOT NULL').get(protocol, serial) as SerialRow | undefined;
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
      checkins: g('SELECT COUNT(*) FROM checkins_current'),
      unknown: g('SELECT COUNT(*) FROM checkins_current WHERE trainee IS NULL'),
      raw: g('SELECT COUNT(*) FROM raw_inputs'),
      problems: g("SELECT COUNT(*) FROM raw_inputs WHERE status IN ('unparsable','partial')"),
    };
  }
}
