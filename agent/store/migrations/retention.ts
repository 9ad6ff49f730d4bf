import type { Migration } from '../migrate.js';

/**
 * The evidence hash chain: one link per evidence row (segment, check-in, sighting, verdict), in
 * the order the box learnt them. Each link holds the sha256 of the row's canonical content and
 * hash = sha256(prev hash + digest), so changing, inserting or removing a row breaks every later
 * link. The head is sent to the provincial system, which makes a rewritten chain detectable too.
 * Also the expiry and time indexes that retention and the live monitor need on large stores.
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
CREATE INDEX IF NOT EXISTS evidence_chain_expiry ON evidence_chain(expires_ms);
-- retention reads by expiry and the monitor by time; without these, each pass or tick would scan
-- years of rows (millions of segments and sightings)
CREATE INDEX IF NOT EXISTS recordings_expiry ON recordings(expires_ms);
CREATE INDEX IF NOT EXISTS recordings_run ON recordings(run_id);
CREATE INDEX IF NOT EXISTS recordings_start ON recordings(start_ms);
CREATE INDEX IF NOT EXISTS sightings_expiry ON sightings(expires_ms);
CREATE INDEX IF NOT EXISTS checkins_expiry ON checkins(expires_ms);
CREATE INDEX IF NOT EXISTS outbox_expiry ON outbox(expires_ms) WHERE acked_ms IS NOT NULL;
-- "does this lesson have a verdict yet", asked for every ended lesson on each monitor tick
CREATE INDEX IF NOT EXISTS verdicts_lesson ON verdicts(class_id, lesson_id);
`,
};
