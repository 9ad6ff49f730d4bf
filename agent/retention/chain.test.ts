import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadProfile } from '../config/profile.js';
import { configSchema } from '../config/schema.js';
import { EventBus } from '../core/bus.js';
import type { AgentEvents } from '../core/events.js';
import { logger } from '../core/log.js';
import { chainCheck } from '../doctor/checks.js';
import { doctorEnv } from '../doctor/index.js';
import { ChainRepo } from '../store/chain.js';
import { EvidenceRepo } from '../store/evidence.js';
import { Store } from '../store/store.js';
import { EvidenceChain } from './chain.js';
import { purgeExpired } from './purge.js';

const YEAR = 365.25 * 86_400_000;
const NOW = Date.UTC(2029, 0, 15);
let dir: string;
let store: Store;
let clock: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-chain-'));
  clock = NOW;
  store = new Store({ file: path.join(dir, 'state', 'evidence.db'), now: () => clock });
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function evidence(at: number, k: number) {
  const ev = new EvidenceRepo(store);
  for (let i = 0; i < k; i++) {
    ev.addRecording({ camera: 'cam-1', path: path.join(dir, `v${at}-${i}.mp4`), start: at + i * 60_000, end: at + (i + 1) * 60_000, bytes: 10, sha256: 'ab' });
    ev.addSightings([{ trainee: 'S01', camera: 'cam-1', at: at + i * 60_000 + 5 }]);
    store.db
      .prepare('INSERT INTO checkins (dedup_key, terminal, person, trainee, at_ms, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(`k${at}-${i}`, 'gate', 'P1', 'S01', at + i, clock, store.expiresAt(at + i));
  }
}

describe('evidence hash chain', () => {
  it('links every row; an intact store verifies', () => {
    evidence(NOW - 86_400_000, 5);
    const chain = new ChainRepo(store);
    expect(chain.append()).toBe(15);
    expect(chain.append()).toBe(0);
    expect(chain.verify()).toEqual({ links: 15, problems: [] });
  });

  it('detects a changed row, a removed unexpired row and a forged link', () => {
    evidence(NOW - 86_400_000, 3);
    const chain = new ChainRepo(store);
    chain.append();
    store.db.prepare('UPDATE recordings SET end_ms = end_ms + 600000 WHERE id = 2').run(); // stretch a segment
    store.db.prepare('DELETE FROM checkins WHERE id = 1').run();
    // bookkeeping columns may change: marking a segment archived is not tampering
    store.db.prepare('UPDATE recordings SET archived_ms = 1, sync_state = ? WHERE id = 3').run('acked');
    expect(chain.verify().problems).toEqual([
      { seq: 2, kind: 'recording', refId: 2, problem: 'row changed' },
      { seq: 4, kind: 'checkin', refId: 1, problem: 'row missing' },
    ]);
    store.db.prepare("UPDATE evidence_chain SET digest = 'x' WHERE seq = 5").run();
    expect(chain.verify().problems.map((p) => p.problem)).toContain('link broken');
  });

  it('retention purges expired rows and the chain prefix; what remains still verifies', async () => {
    const chain = new ChainRepo(store);
    evidence(NOW - 4 * YEAR, 4);
    chain.append(); // linked when it happened, four years ago
    evidence(NOW - 86_400_000, 2);
    chain.append();
    store.db.prepare('UPDATE recordings SET deleted_ms = ? WHERE expires_ms < ?').run(NOW, NOW); // files gone
    const purged = await purgeExpired(store, NOW, 100);
    expect(purged).toMatchObject({ recordings: 4, sightings: 4, checkins: 4 });
    // the expired links form the chain's prefix: they go, and the rest verifies from its first link
    expect(purged.evidence_chain).toBe(12);
    expect(chain.verify()).toEqual({ links: 6, problems: [] });
  });

  it('the module links on events and sends the chain head to the outbox', async () => {
    const cfg = configSchema.parse({ paths: { state: path.join(dir, 'state') } });
    const ctx = { cfg, profile: loadProfile('henan-2025'), store, bus: new EventBus<AgentEvents>(), log: logger('t'), now: () => clock, paths: { state: dir, video: dir, database: store.file } };
    const m = new EvidenceChain(ctx);
    await m.start();
    evidence(NOW - 1000, 2);
    expect(m.sweep()).toBe(6);
    await m.stop();
    const heads = store.db.prepare("SELECT payload FROM outbox WHERE type = 'chain-head'").pluck().all() as string[];
    expect(JSON.parse(heads[heads.length - 1])).toEqual(new ChainRepo(store).head());
  });

  it('doctor fails on a tampered row or a changed segment file', async () => {
    const file = path.join(dir, 'seg.mp4');
    fs.writeFileSync(file, 'video');
    new EvidenceRepo(store).addRecording({ camera: 'cam-1', path: file, start: NOW - 1000, end: NOW, bytes: 5, sha256: 'a'.repeat(64) });
    new ChainRepo(store).append();
    const cfg = configSchema.parse({ paths: { state: path.join(dir, 'state') } });
    const r = await chainCheck.run(doctorEnv({ cfg, now: NOW }));
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('seg.mp4');
  });
});
