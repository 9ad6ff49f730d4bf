import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { FACT_TABLES, evidenceLog } from '../store/evidence-log.js';
import { signCheckpoint } from './checkpointer.js';
import { fillBox, makeBox, ORIGIN, T0 } from './fixture.js';
import { verifyBox } from './verify-box.js';
import { renderBoxReport } from '../cli/commands/verify.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'adopt-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/**
 * A store from before the log: the fixture's rows (written by the store's own functions), then
 * the log taken away as if it had never existed (its tables and migration record dropped), so
 * the next open applies the log's migration to a store full of unlogged rows.
 */
function preLogBox(name: string) {
  const f = makeBox(path.join(root, name));
  fillBox(f);
  const db = new Database(f.db);
  db.exec("DROP TABLE evidence_log; DROP TABLE evidence_nodes; DROP TABLE evidence_checkpoints; DELETE FROM schema_migrations WHERE id = 'evidence-1'");
  db.close();
  fs.rmSync(path.join(f.keys, 'checkpoint'), { force: true });
  return f;
}

describe('adoption of rows written before the log existed', () => {
  it('adopts every unlogged row once, with an adopted entry each and one dated adoption entry; verify then tells them from rows inserted by hand', async () => {
    const f = preLogBox('a');
    const rowsBefore = (() => {
      const db = new Database(f.db, { readonly: true });
      const n = FACT_TABLES.reduce((a, t) => a + (db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number), 0);
      db.close();
      return n;
    })();
    f.clock.now = T0 + 24 * 3600_000;
    let s = f.open(); // migration evidence-1 applies, then adoption runs
    const log = evidenceLog(s);
    const adoptions = log.adoptions();
    expect(adoptions).toHaveLength(1);
    expect(adoptions[0].at).toBe(T0 + 24 * 3600_000);
    expect([...adoptions[0].tables].sort()).toEqual([...FACT_TABLES].sort());
    expect(Object.values(adoptions[0].rows).reduce((a, b) => a + b, 0)).toBe(rowsBefore);
    expect(s.db.prepare("SELECT COUNT(*) FROM evidence_log WHERE kind = 'adopted'").pluck().get()).toBe(rowsBefore);
    signCheckpoint(s, f.key, ORIGIN);
    s.close();

    const check = async () => {
      const st = f.open();
      try {
        return await verifyBox(evidenceLog(st), { vkey: f.key.signer.vkey, origin: ORIGIN });
      } finally {
        st.close();
      }
    };
    const clean = await check();
    expect(clean.problems).toEqual([]);
    expect(clean.adopted).toBe(rowsBefore);
    expect(clean.adoptions).toEqual([{ at: T0 + 24 * 3600_000, rows: rowsBefore, tables: FACT_TABLES.length }]);
    expect(renderBoxReport(clean, 'en')).toContain(`rows from before the log: ${rowsBefore} adopted into it at ${new Date(T0 + 24 * 3600_000).toISOString()}`);
    // the segment and cut files of adopted rows are hashed like any others
    expect(clean.files).toBe(4);

    // reopening adopts nothing more: the log says every table is closed
    s = f.open();
    expect(evidenceLog(s).adoptions()).toHaveLength(1);
    const size = evidenceLog(s).size();
    // a row inserted by hand after the adoption ...
    s.db.prepare("INSERT INTO alarms (kind, subject, message, raised_ms, created_ms, expires_ms) VALUES ('x', 'y', 'forged', ?, ?, ?)").run(T0, T0, T0 + 1e11);
    s.close();
    // ... is not adopted at the next open, and verify flags it as inserted behind the agent
    s = f.open();
    expect(evidenceLog(s).size()).toBe(size);
    s.close();
    const r = await check();
    expect(
      r.problems.some((p) => p.where.startsWith('alarms') && p.detail.includes('not in the evidence log')),
      JSON.stringify(r.problems),
    ).toBe(true);
    // and an adopted row edited afterwards is caught like any other
    const db = new Database(f.db);
    db.prepare("UPDATE teachers SET certified = 1 - certified WHERE id = 'K2'").run();
    db.close();
    expect((await check()).problems.some((p) => p.where.startsWith('teachers') && p.detail.includes('certified'))).toBe(true);
  });

  it('a fresh store closes every table at its first open with no rows, and adopts nothing once its rows are logged', () => {
    const f = makeBox(path.join(root, 'fresh'));
    let s = f.open();
    const log = evidenceLog(s);
    expect(log.size()).toBe(1);
    expect(log.adoptions()[0].rows).toEqual(Object.fromEntries(FACT_TABLES.map((t) => [t, 0])));
    s.close();
    fillBox(f);
    // the filled store's rows are all logged: nothing to adopt at the next open
    s = f.open();
    expect(evidenceLog(s).adoptions()).toHaveLength(1);
    s.close();
  });
});
