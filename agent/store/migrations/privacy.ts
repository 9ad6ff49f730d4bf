import type { Migration } from '../migrate.js';

/**
 * - face_consent_events: every consent given and withdrawn, append-only (face_consents holds the
 *   standing state; a later consent after a withdrawal must not erase the withdrawal's record).
 * - indexes retention needs on the tables it now purges (raw inputs, face matches, frames).
 */
export const privacy: Migration = {
  id: 'privacy-1',
  sql: `
CREATE TABLE face_consent_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trainee TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('given','withdrawn')),
  at_ms INTEGER NOT NULL,
  recorded_by TEXT,
  method TEXT,
  note TEXT,
  -- withdrawal: descriptors and face matches deleted with it
  deleted INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL
);
CREATE INDEX face_consent_events_trainee ON face_consent_events(trainee, at_ms);
CREATE INDEX IF NOT EXISTS raw_inputs_expiry ON raw_inputs(expires_ms);
CREATE INDEX IF NOT EXISTS face_matches_expiry ON face_matches(expires_ms);
CREATE INDEX IF NOT EXISTS face_matches_trainee ON face_matches(trainee);
CREATE INDEX IF NOT EXISTS vision_frames_expiry ON vision_frames(expires_ms);
`,
};
