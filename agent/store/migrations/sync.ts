import type { Migration } from '../migrate.js';

/**
 * Sync state kept in the database (not in memory) so the CLI (`sync status`) reads what the
 * daemon knows, and a restarted agent continues its session counter: a late last-will of an
 * earlier connection then always carries a lower session than the live status.
 * sent_count/last_sent_ms on the outbox show records that were sent but never acked.
 */
export const syncMigration: Migration = {
  id: 'sync-1',
  sql: `
CREATE TABLE sync_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_ms INTEGER NOT NULL
);
ALTER TABLE outbox ADD COLUMN sent_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_sent_ms INTEGER;
`,
};
