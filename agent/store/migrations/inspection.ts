import type { Migration } from '../migrate.js';

/**
 * Remote live inspections and playback on request (contract v1.1 `live`, `clip`): each request and
 * what became of it, as events appended in order (requested, pushing, ended, refused; exporting,
 * uploading, uploaded, failed). Never updated: an inspection's story
 * is its events. The stream key the province sent is not kept (it lets anyone publish to that
 * stream while it is open); its SHA-256 is, so the province can match its own records.
 */
export const inspection: Migration = {
  id: 'inspection-1',
  sql: `
CREATE TABLE inspection_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  inspection TEXT NOT NULL,
  camera TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('requested','pushing','ended','refused','exporting','uploading','uploaded','failed')),
  at_ms INTEGER NOT NULL,
  detail TEXT,
  key_sha256 TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX inspection_events_inspection ON inspection_events(inspection);
CREATE INDEX inspection_events_expiry ON inspection_events(expires_ms);
`,
};
