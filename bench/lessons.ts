import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadProfile } from '../agent/config/profile.js';
import { configSchema } from '../agent/config/schema.js';
import { EventBus } from '../agent/core/bus.js';
import type { AgentEvents } from '../agent/core/events.js';
import { initLogging, logger } from '../agent/core/log.js';
import { LessonMonitor } from '../agent/lessons/monitor.js';
import { ClassRepo } from '../agent/store/classes.js';
import { Store } from '../agent/store/store.js';
import type { Bench } from './index.js';

/**
 * The live-lesson monitor ticks every few seconds for years. Its cost per tick on a store that
 * already holds 120 days of 60 s segments (2 cameras) and 200 past lessons, beside the bare
 * SQLite range query of one lesson's recordings (the floor any implementation pays).
 */
export const lessonsBench: Bench = {
  name: 'lessons',
  title: 'live-lesson monitor tick on a store with 120 days of segments (vs one bare range query)',
  async run() {
    initLogging({ level: 'error' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-bench-lessons-'));
    const DAY = 86_400_000;
    const now = Date.UTC(2026, 5, 1, 2, 20);
    let clock = now;
    const store = new Store({ file: path.join(dir, 'e.db'), now: () => clock });
    try {
      const insert = store.db.prepare("INSERT INTO recordings (camera, path, start_ms, end_ms, bytes, sha256, created_ms, expires_ms, sync_state) VALUES (?, ?, ?, ?, 1, 'x', ?, ?, 'local')");
      const t0 = performance.now();
      store.tx(() => {
        for (const cam of ['cam-1', 'cam-2']) for (let t = now - 120 * DAY; t < now; t += 60_000) insert.run(cam, `${cam}/${t}`, t, t + 60_000, t, t + 3 * 365 * DAY);
      });
      const rows = store.db.prepare('SELECT COUNT(*) FROM recordings').pluck().get() as number;
      console.log(`  store: ${rows} segments inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const lessons = Array.from({ length: 200 }, (_, i) => {
        const start = now - Math.floor((199 - i) / 2) * DAY - (i % 2) * 3_600_000 - 20 * 60_000;
        return { id: `L${i}`, kind: 'practical' as const, start, end: start + 45 * 60_000, cameras: ['cam-1', 'cam-2'], makeUp: false };
      });
      new ClassRepo(store).save(
        { id: 'C1', room: 'room-1', timezone: 'Asia/Shanghai', trainees: Array.from({ length: 40 }, (_, i) => ({ id: `S${i}`, terminalIds: [] })), teachers: [{ id: 'T', certified: true }], lessons },
        'henan-2025',
      );
      const cfg = configSchema.parse({ paths: { state: dir } });
      const ctx = { cfg, profile: loadProfile('henan-2025'), store, bus: new EventBus<AgentEvents>(), log: logger('bench'), now: () => clock, paths: { state: dir, video: dir, database: store.file } };
      const m = new LessonMonitor(ctx);
      await m.start(); // first tick judges the 199 past lessons (catch-up after install)
      const N = 200;
      let a = performance.now();
      for (let i = 0; i < N; i++) {
        clock = now + i * 5000;
        m.tick();
      }
      const tick = (performance.now() - a) / N;
      // the floor: one lesson's recordings, read through the (camera, start_ms) index with both ends bounded
      const bounded = store.db.prepare(
        'SELECT camera, start_ms, end_ms FROM recordings WHERE camera IN (?, ?) AND start_ms >= ? AND start_ms < ? AND end_ms > ? AND deleted_ms IS NULL ORDER BY start_ms',
      );
      // what an overlap query bounded on one side costs: it walks the camera's whole history
      const naive = store.db.prepare('SELECT camera, start_ms, end_ms FROM recordings WHERE camera IN (?, ?) AND end_ms > ? AND start_ms < ? AND deleted_ms IS NULL ORDER BY start_ms');
      const timeIt = (f: (i: number) => void, n: number) => {
        const t = performance.now();
        for (let i = 0; i < n; i++) f(i);
        return (performance.now() - t) / n;
      };
      const from = now - 20 * 60_000;
      const bare = timeIt((i) => bounded.all('cam-1', 'cam-2', from - 6 * 3_600_000, now + i * 5000, from), N);
      const slow = timeIt((i) => naive.all('cam-1', 'cam-2', from, now + i * 5000), 10);
      await m.stop();
      console.log(
        `  monitor tick: ${tick.toFixed(2)} ms   bare bounded range query: ${bare.toFixed(2)} ms   ratio ${(tick / bare).toFixed(1)}x   (a tick every 5 s = ${((tick / 5000) * 100).toFixed(3)} % of one core)`,
      );
      console.log(`  for scale: the same overlap query bounded on one side only (end_ms > from AND start_ms < to): ${slow.toFixed(1)} ms`);
    } finally {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
