import type { Migration } from '../migrate.js';

/**
 * Check-in intake. raw_inputs keeps every request body or stream part a terminal sent, written
 * BEFORE it is parsed and before the terminal gets its 200, so a parser bug or an unknown format
 * never loses a check-in: it can be re-parsed later from here. Bodies are bounded (truncated
 * flag) and carry the same retention columns as all evidence.
 * terminal_state: per-terminal health and catch-up cursors (ZKTeco ATTLOG stamp, Hikvision serialNo).
 */
export const checkin: Migration = {
  id: 'checkin-1',
  sql: `
CREATE TABLE raw_inputs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  protocol TEXT NOT NULL,
  terminal TEXT,
  channel TEXT NOT NULL,
  method TEXT,
  path TEXT,
  content_type TEXT,
  body BLOB NOT NULL,
  body_bytes INTEGER NOT NULL,
  truncated INTEGER NOT NULL DEFAULT 0,
  -- 'received' until parsed; then 'ok', 'partial' (some rows unusable), 'unparsable', 'ignored' (heartbeat, other table)
  status TEXT NOT NULL DEFAULT 'received',
  error TEXT,
  checkins INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  unknown INTEGER NOT NULL DEFAULT 0,
  received_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX raw_inputs_status ON raw_inputs(status) WHERE status IN ('unparsable','partial','received');
CREATE INDEX raw_inputs_terminal ON raw_inputs(terminal, received_ms);
CREATE INDEX checkins_unknown ON checkins(at_ms) WHERE trainee IS NULL;
CREATE INDEX checkins_raw ON checkins(raw_id);
CREATE TABLE terminal_state (
  terminal TEXT PRIMARY KEY,
  protocol TEXT NOT NULL,
  last_event_ms INTEGER,
  last_contact_ms INTEGER,
  last_heartbeat_ms INTEGER,
  skew_ms INTEGER,
  -- ZKTeco ATTLOG Stamp the terminal may resume after; Hikvision highest serialNo seen
  cursor TEXT,
  last_event_at_ms INTEGER,
  updated_ms INTEGER NOT NULL
);
`,
};

/**
 * Fewer indexes on the intake path: each one costs every check-in a B-tree write inside the
 * group commit. Problem rows are found by a partial index on the rows a human must look at.
 */
export const checkin2: Migration = {
  id: 'checkin-2',
  sql: `
DROP INDEX IF EXISTS raw_inputs_status;
DROP INDEX IF EXISTS raw_inputs_terminal;
DROP INDEX IF EXISTS checkins_raw;
CREATE INDEX raw_inputs_problems ON raw_inputs(id) WHERE status IN ('unparsable','partial');
`,
};

/**
 * Check-ins that hold up in an audit (issue 14).
 * - checkins gains the event's identity parts (device counter, the name the terminal sent, the
 *   vendor code), when the box received it, and a flag for times that cannot be right. None is
 *   a hashed column (store/chain.ts): rows already chained keep verifying.
 * - counter: old Hikvision/Dahua keys were "hik:<terminal>:<serialNo>" / "dahua:<terminal>:<RecNo>";
 *   the counter is copied out of them so a resend after the upgrade is still recognised.
 * - terminal_events: events kept but never counted (failed checks, door events, unknown codes).
 * - checkin_corrections: a remap or reparse never edits a check-in; it adds a row pointing at it
 *   (new trainee/class, or voided). checkins_current is the corrected view every reader uses.
 * - terminal_serials: ZKTeco serials that knocked without being configured, and their approval.
 */
export const checkin3: Migration = {
  id: 'checkin-3',
  sql: `
ALTER TABLE checkins ADD COLUMN counter TEXT;
ALTER TABLE checkins ADD COLUMN person_name TEXT;
ALTER TABLE checkins ADD COLUMN event_code TEXT;
ALTER TABLE checkins ADD COLUMN received_ms INTEGER;
ALTER TABLE checkins ADD COLUMN time_flag TEXT;
UPDATE checkins SET counter = substr(dedup_key, length('hik:' || terminal || ':') + 1)
  WHERE dedup_key LIKE 'hik:%' AND substr(dedup_key, length('hik:' || terminal || ':') + 1) GLOB '[0-9]*'
    AND substr(dedup_key, length('hik:' || terminal || ':') + 1) NOT GLOB '*[^0-9]*';
UPDATE checkins SET counter = substr(dedup_key, length('dahua:' || terminal || ':') + 1)
  WHERE dedup_key LIKE 'dahua:%' AND substr(dedup_key, length('dahua:' || terminal || ':') + 1) GLOB '[0-9]*'
    AND substr(dedup_key, length('dahua:' || terminal || ':') + 1) NOT GLOB '*[^0-9]*';
CREATE INDEX checkins_counter ON checkins(terminal, counter) WHERE counter IS NOT NULL;
CREATE INDEX checkins_time_flag ON checkins(id) WHERE time_flag IS NOT NULL;
-- the verdict reads the corrected view by time; the trainee column it used to index is now the view's
CREATE INDEX checkins_at ON checkins(at_ms);
CREATE TABLE terminal_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  dedup_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('not-a-pass','unknown-code','counter-reuse')),
  terminal TEXT NOT NULL,
  protocol TEXT NOT NULL,
  code TEXT NOT NULL,
  meaning TEXT,
  person TEXT,
  person_name TEXT,
  at_ms INTEGER,
  raw_id INTEGER,
  received_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX terminal_events_kind ON terminal_events(kind, id);
CREATE INDEX terminal_events_expiry ON terminal_events(expires_ms);
CREATE TABLE checkin_corrections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  checkin_id INTEGER NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('remap','reparse')),
  trainee TEXT,
  class_id TEXT,
  voided INTEGER NOT NULL DEFAULT 0,
  raw_id INTEGER,
  note TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX checkin_corrections_checkin ON checkin_corrections(checkin_id, id);
CREATE INDEX checkin_corrections_expiry ON checkin_corrections(expires_ms);
CREATE VIEW checkins_all_current AS
  SELECT c.id, c.dedup_key, c.terminal, c.person, c.at_ms, c.tz_offset_min, c.verify_mode, c.similarity, c.raw_id,
         c.created_ms, c.expires_ms, c.sync_state, c.counter, c.person_name, c.event_code, c.received_ms, c.time_flag,
         CASE WHEN k.id IS NULL THEN c.trainee ELSE k.trainee END AS trainee,
         CASE WHEN k.id IS NULL THEN c.class_id ELSE k.class_id END AS class_id,
         COALESCE(k.voided, 0) AS voided,
         k.id AS correction_id
  FROM checkins c
  LEFT JOIN checkin_corrections k ON k.id = (SELECT MAX(x.id) FROM checkin_corrections x WHERE x.checkin_id = c.id);
CREATE VIEW checkins_current AS SELECT * FROM checkins_all_current WHERE voided = 0;
CREATE TABLE terminal_serials (
  protocol TEXT NOT NULL,
  serial TEXT NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  address TEXT,
  approved_ms INTEGER,
  terminal_id TEXT,
  timezone TEXT,
  PRIMARY KEY (protocol, serial)
);
`,
};
