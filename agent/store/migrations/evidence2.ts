import type { Migration } from '../migrate.js';

/**
 * A raw input's row points at its log entry (`log_seq`, the entry's leaf number), and that entry
 * is written without a `ref` column, so it stays out of the ref index (evidence-log.ts POINTED).
 * why: the ref index entry (JSON text, sorted as text) dirtied one more page of the database per
 * intake request, the largest single part of what the log added to a request's commit (bench
 * evidence). The column is an index, never evidence: `verify` reads the entry it points at and
 * accepts it only when the entry's own `r` names this row; a changed column is reported.
 * Rows written before this migration keep NULL and are found through the ref index as before.
 */
export const evidenceRawPointer: Migration = {
  id: 'evidence-2',
  sql: `
ALTER TABLE raw_inputs ADD COLUMN log_seq INTEGER;
`,
};
