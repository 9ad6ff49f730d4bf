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
  -- 'received' until parsed (same transaction); then 'ok', 'partial' (some rows unusable), 'unparsable', 'ignored' (nothing to store)
  status TEXT NOT NULL DEFAULT 'received',
  error TEXT,
  checkins INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  unknown INTEGER NOT NULL DEFAULT 0,
  received_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
-- few indexes on purpose: every one costs each check-in a B-tree write inside the group commit
CREATE INDEX raw_inputs_problems ON raw_inputs(id) WHERE status IN ('unparsable','partial');
CREATE INDEX checkins_unknown ON checkins(at_ms) WHERE trainee IS NULL;
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
