import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { pendingMigrations } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { Store } from './store.js';
import { EvidenceRepo } from './evidence.js';
import { AlarmRepo } from './alarms.js';
import { Outbox } from './outbox.js';

const file = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ca-store-')), 'e.db');

describe('evidence store', () => {
  it('applies migrations once, in WAL mode with synchronous FULL', () => {
    const f = file();
    const s = new Store({ file: f });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(pendingMigrations(s.db, MIGRATIONS)).toEqual([]);
    s.close();
    const again = new Store({ file: f });
    expect(again.db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.length);
    expect(again.integrityCheck()).toBe('ok');
    again.close();
  });

  it('every evidence table carries created, expiry and sync state', () => {
    const s = new Store({ file: file() });
    for (const t of ['classes', 'trainees', 'teachers', 'lessons', 'recordings', 'recording_runs', 'recording_gaps', 'checkins', 'sightings', 'verdicts', 'alarms']) {
      const cols = (s.db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
      expect(cols, t).toEqual(expect.arrayContaining(['created_ms', 'expires_ms', 'sync_state']));
    }
    s.close();
  });

  it('expiry is 3 years after the event; a segment and its outbox record are written together', () => {
    const s = new Store({ file: file(), now: () => 1_000 });
    const id = new EvidenceRepo(s).addRecording({ camera: 'c', path: '/v/1.mp4', start: 0, end: 60_000, bytes: 1, sha256: 'a' });
    const row = s.db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as any;
    expect(row.expires_ms).toBe(Math.round(3 * 365.25 * 24 * 3600 * 1000));
    expect(new Outbox(s).backlog().count).toBe(1);
    // a duplicate path fails as a whole: no orphan outbox row
    expect(() => new EvidenceRepo(s).addRecording({ camera: 'c', path: '/v/1.mp4', start: 0, end: 1, bytes: 1, sha256: 'a' })).toThrow();
    expect(new Outbox(s).backlog().count).toBe(1);
    s.close();
  });

  it('alarms: one open alarm per kind and subject', () => {
    const s = new Store({ file: file() });
    const a = new AlarmRepo(s);
    expect(a.raise('camera-down', 'cam-1', 'x')).toBe(true);
    expect(a.raise('camera-down', 'cam-1', 'x')).toBe(false);
    expect(a.open()).toHaveLength(1);
    expect(a.clear('camera-down', 'cam-1')).toBe(true);
    expect(a.clear('camera-down', 'cam-1')).toBe(false);
    expect(a.open()).toHaveLength(0);
    s.close();
  });

  it('survives a process killed mid-batch: committed batches stay, the open one vanishes whole', async () => {
    const f = file();
    new Store({ file: f }).close();
    const { spawn } = await import('node:child_process');
    const script = `
      import { Store } from '${path.join(PACKAGE_ROOT, 'dist/agent/store/store.js')}';
      import { EvidenceRepo } from '${path.join(PACKAGE_ROOT, 'dist/agent/store/evidence.js')}';
      const s = new Store({ file: '${f}' });
      const r = new EvidenceRepo(s);
      let n = 0;
      for (;;) { r.addSightings(Array.from({ length: 100 }, (_, i) => ({ trainee: 'S' + i, camera: 'c', at: n }))); n++; if (n === 5) process.stdout.write('go\\n'); }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const s = new Store({ file: f });
    const n = s.db.prepare('SELECT COUNT(*) FROM sightings').pluck().get() as number;
    expect(n % 100).toBe(0);
    expect(n).toBeGreaterThanOrEqual(500);
    expect(s.integrityCheck()).toBe('ok');
    s.close();
  });
});
