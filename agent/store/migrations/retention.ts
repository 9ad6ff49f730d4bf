import type { Migration } from '../migrate.js';

/**
 * The evidence hash chain: one link per evidence row (segment, check-in, sighting, verdict), in
 * the order the box learnt them. Each link holds the sha256 of the row's canonical content and
 * hash = sha256(prev hash + digest), so changing, inserting or removing a row breaks every later
 * link. The head is sent to the provincial system, which makes a rewritten chain detectable too.
 */
export const retentionChain: Migration = {
  id: 'retention-1',
  sql: `
CREATE TABLE evidence_chain (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('recording','checkin','sighting','verdict')),
  ref_id INTEGER NOT NULL,
  digest TEXT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  UNIQUE (kind, ref_id)
);
`,
};
