import type { Migration } from '../migrate.js';

/**
 * Files the recorder found cut (ffmpeg killed, power lost) and did not index as they are: a file
 * without one complete frame is never a segment; a file whose last fragment is incomplete is
 * indexed through `repaired_path`, a copy of its whole fragments. The original stays on disk,
 * described here (its hash and size), so nothing found on disk is unaccounted for and the loss
 * is stated. Expires with the video of the same time.
 */
export const recorderCuts: Migration = {
  id: 'recorder-2',
  sql: `
CREATE TABLE recording_cuts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera TEXT NOT NULL,
  run_id INTEGER,
  path TEXT NOT NULL UNIQUE,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  complete_bytes INTEGER NOT NULL,
  fragments INTEGER NOT NULL,
  repaired_path TEXT,
  found_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  deleted_ms INTEGER
);
CREATE INDEX recording_cuts_expiry ON recording_cuts(expires_ms);
`,
};
