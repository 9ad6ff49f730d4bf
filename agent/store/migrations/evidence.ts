import type { Migration } from '../migrate.js';

/**
 * The append-only evidence log (agent/store/evidence-log.ts) replaces the hash chain of
 * retention-1: one entry per evidential fact, in canonical bytes, as the leaves of an RFC 9162
 * Merkle tree. The evidence tables stay as indexes of the log for queries.
 *  - evidence_log: leaf `seq` (from 0), its canonical entry (NULL once retention pruned it: the
 *    leaf hash stays so the tree and every later proof still verify), and the index row it stands
 *    for (`ref`, JSON [table, key...]) so verify can compare row and entry both ways.
 *  - evidence_nodes: the hashes of complete subtrees above the leaves, (level ≥ 1, index); one
 *    row per append on average; proofs read O(log n) of them (measured: bench evidence).
 *  - evidence_checkpoints: every signed checkpoint the box made (C2SP signed note).
 */
export const evidenceLog: Migration = {
  id: 'evidence-1',
  sql: `
CREATE TABLE evidence_log (
  seq INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT,
  entry BLOB,
  leaf BLOB NOT NULL,
  expires_ms INTEGER
);
CREATE INDEX evidence_log_ref ON evidence_log(ref, seq) WHERE ref IS NOT NULL;
CREATE TABLE evidence_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE evidence_checkpoints (
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  note TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (size, at_ms)
);
DROP TABLE IF EXISTS evidence_chain;
`,
};
