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
