import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../migrate.js';
import { Store } from '../store.js';
import { MIGRATIONS } from './index.js';

describe('migration vision-2 on a box whose re-scans doubled rows', () => {
  it('keeps one headcount row per frame and one match per face, preferring a promoted one', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ca-v2-')), 'e.db');
    const db = new Database(file);
    migrate(
      db,
      MIGRATIONS.slice(
        0,
        MIGRATIONS.findIndex((m) => m.id === 'vision-2'),
      ),
      1,
    );
    const frame = db.prepare(
      "INSERT INTO vision_frames (camera, at_ms, recording_id, offset_ms, class_id, lesson_id, faces, matched, unknown, created_ms, expires_ms) VALUES ('cam-1', 10, 7, 0, 'C1', 'L1', 3, 1, 2, 1, 9e12)",
    );
    frame.run();
    frame.run();
    const match = db.prepare(
      "INSERT INTO face_matches (class_id, lesson_id, trainee, camera, at_ms, recording_id, offset_ms, distance, margin, promoted_ms, created_ms, expires_ms) VALUES ('C1', 'L1', 'S01', 'cam-1', 10, 7, 0, 0.2, 0.3, ?, 1, 9e12)",
    );
    match.run(null); // the first, never promoted
    match.run(5); // its double, promoted
    db.close();
    const store = new Store({ file });
    expect(store.db.prepare('SELECT COUNT(*) FROM vision_frames').pluck().get()).toBe(1);
    expect(store.db.prepare('SELECT promoted_ms FROM face_matches').pluck().all()).toEqual([5]);
    store.close();
  });
});
