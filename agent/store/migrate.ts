import type Database from 'better-sqlite3';

export interface Migration {
  /** stable id, never renamed once released: "<module>-<n>" */
  id: string;
  sql: string;
}

/**
 * Apply the migrations not yet applied, in list order, each in its own transaction with its
 * record in schema_migrations. Ids (not a single version number) let modules add migrations
 * independently; the list order is the order of application on a new box.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], now: number): string[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_ms INTEGER NOT NULL)');
  const applied = new Set(db.prepare('SELECT id FROM schema_migrations').pluck().all() as string[]);
  const done: string[] = [];
  for (const m of migrations) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (id, applied_ms) VALUES (?, ?)').run(m.id, now);
    })();
    done.push(m.id);
  }
  return done;
}

export function pendingMigrations(db: Database.Database, migrations: readonly Migration[]): string[] {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'").get();
  const applied = new Set(has ? (db.prepare('SELECT id FROM schema_migrations').pluck().all() as string[]) : []);
  return migrations.filter((m) => !applied.has(m.id)).map((m) => m.id);
}
