import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Store } from '../agent/store/store.js';
import { EvidenceRepo } from '../agent/store/evidence.js';
import type { Bench } from './index.js';

const BATCH = 500;
const BATCHES = 200;

/**
 * Durable sighting inserts through the store (its repository, WAL + synchronous FULL, one
 * transaction per batch) beside a bare better-sqlite3 loop into the same schema with the same
 * pragmas, in the same run.
 */
export const storeBench: Bench = {
  name: 'store',
  title: `durable sighting inserts, ${BATCHES} batches of ${BATCH}: store vs bare better-sqlite3`,
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-bench-store-'));
    const rows = (b: number) => Array.from({ length: BATCH }, (_, i) => ({ trainee: `S${i % 80}`, camera: 'cam-1', at: b * BATCH + i, recordingId: b, offsetMs: i, distance: 0.4, margin: 0.1 }));

    const rates = { store: [] as number[], bare: [] as number[] };
    for (let round = 0; round < 3; round++) {
      const store = new Store({ file: path.join(dir, `s${round}.db`) });
      const repo = new EvidenceRepo(store);
      let t = performance.now();
      for (let b = 0; b < BATCHES; b++) repo.addSightings(rows(b));
      rates.store.push((BATCH * BATCHES) / ((performance.now() - t) / 1000));
      store.close();

      // bare: same schema (made by the store's migrations), same pragmas, no repository
      const schema = new Store({ file: path.join(dir, `b${round}.db`) });
      schema.close();
      const db = new Database(path.join(dir, `b${round}.db`));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      const ins = db.prepare('INSERT INTO sightings (trainee, class_id, camera, at_ms, recording_id, offset_ms, distance, margin, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      const tx = db.transaction((rs: ReturnType<typeof rows>) => {
        for (const s of rs) ins.run(s.trainee, null, s.camera, s.at, s.recordingId, s.offsetMs, s.distance, s.margin, 0, 0);
      });
      t = performance.now();
      for (let b = 0; b < BATCHES; b++) tx(rows(b));
      rates.bare.push((BATCH * BATCHES) / ((performance.now() - t) / 1000));
      db.close();
    }
    const best = (xs: number[]) => Math.max(...xs);
    console.log(`  store:  ${best(rates.store).toFixed(0)} sightings/s (best of 3)`);
    console.log(`  bare:   ${best(rates.bare).toFixed(0)} sightings/s (best of 3)`);
    console.log(`  ratio store/bare: ${(best(rates.store) / best(rates.bare)).toFixed(2)} (target ≥ 0.7)`);
    fs.rmSync(dir, { recursive: true, force: true });
  },
};
