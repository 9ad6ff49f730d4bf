import type { Migration } from '../migrate.js';

/**
 * The console's users and its access log. Users are not evidence (a password change is an
 * update); access entries are: one row per view or export, never updated, so the evidence log
 * can take them in (append-only, with expiry like every evidential row).
 */
export const consoleMigration: Migration = {
  id: 'console-1',
  sql: `
CREATE TABLE console_users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('technician','school','inspector')),
  -- scrypt$N$r$p$salt(base64)$hash(base64)
  password_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE console_access (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  user TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  remote TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok','denied','failed')),
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS console_access_at ON console_access(at_ms);
CREATE INDEX IF NOT EXISTS console_access_expiry ON console_access(expires_ms);
`,
};
