import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { TestPostgres } from '../sim/postgres.js';
import { Mosquitto, ensureBuilt, hasMosquitto } from '../sync/mosquitto-kit.js';
import type { WireRecord } from '../sync/contract.js';
import { Outbox } from '../store/outbox.js';
import { SyncClient } from '../sync/client.js';
import { agentContext, tempDir, waitFor } from '../sync/testkit.js';
import { PgCentralDb } from './pg.js';

const rec = (seq: number, id = `r${seq}`): WireRecord => ({ id, seq, type: 'alarm', at: 1000 + seq, data: { kind: 'k', subject: 's', state: 'raised' } });
const ok = () => '';

let pgs: TestPostgres;
beforeAll(async () => {
  pgs = await new TestPostgres().start();
}, 60_000);
afterAll(async () => {
  await pgs?.stop();
});

describe('central on PostgreSQL', () => {
  it('dedups by box + record id, releases in sequence order, keeps invalid data and a reused seq aside, honours the floor', async () => {
    const db = new PgCentralDb(pgs.url());
    try {
      let r = await db.storeBatch('b1', 1, [rec(3), rec(4)], 1, ok, true);
      expect(r).toMatchObject({ fresh: 2, released: [], gapAt: 1, committed: [3, 4] });
      r = await db.storeBatch('b1', 1, [rec(1), rec(2), rec(3)], 2, ok, true);
      expect(r).toMatchObject({ fresh: 2, duplicates: 1, gapAt: null });
      expect(r.released.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
      expect(await db.releasedSeqs('b1')).toEqual([1, 2, 3, 4]);
      expect((await db.storeBatch('b2', 1, [rec(1)], 3, ok)).fresh).toBe(1);
      const bad = await db.storeBatch('b3', 1, [rec(1), rec(2)], 4, (x) => (x.seq === 2 ? 'data.state: bad' : ''));
      expect(bad).toMatchObject({ fresh: 2, invalid: 1 });
      expect(await db.storeBatch('b3', 1, [rec(2, 'other-id')], 5, ok)).toMatchObject({ conflicts: 1, committed: [2] });
      const floor = await db.storeBatch('b4', 100, [rec(100), rec(101)], 6, ok, true);
      expect(floor.released.map((x) => x.seq)).toEqual([100, 101]);
      // a late will (lower session) never overwrites a newer status
      expect(await db.setStatus('b1', 'online', 5, 10, 11, { contract: '1.1' })).toBe(true);
      expect(await db.setStatus('b1', 'offline', 4, 9, 12)).toBe(false);
      expect((await db.box('b1'))!.status_state).toBe('online');
      // a hole is claimed once, whichever instance asks first
      await db.storeBatch('b5', 1, [rec(2)], 1000, ok);
      const [a, b] = await Promise.all([db.claimGaps(10_000, 5000), db.claimGaps(10_000, 5000)]);
      expect([...a, ...b].filter((g) => g.box === 'b5')).toEqual([{ box: 'b5', from: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('two instances storing the same batches at once: each record once, released once, in order', async () => {
    const [x, y] = [new PgCentralDb(pgs.url()), new PgCentralDb(pgs.url())];
    try {
      const batches = Array.from({ length: 40 }, (_, i) => Array.from({ length: 25 }, (_, j) => rec(i * 25 + j + 1)));
      // both instances get every batch (a redelivery after a lost ack), in different orders
      await Promise.all([
        (async () => {
          for (const b of batches) await x.storeBatch('race', 1, b, 1, ok);
        })(),
        (async () => {
          for (const b of [...batches].reverse()) await y.storeBatch('race', 1, b, 1, ok);
        })(),
      ]);
      expect(await x.count('race')).toBe(1000);
      expect(await x.releasedSeqs('race')).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  describe.runIf(hasMosquitto())('three receivers on Mosquitto sharing one subscription into PostgreSQL', () => {
    it('kill -9 of one receiver mid-drain: every record stored exactly once', async () => {
      const dir = tempDir('pg-central');
      const broker = new Mosquitto({ dir });
      await broker.start();
      const cli = ensureBuilt(PACKAGE_ROOT);
      const cfgFile = path.join(dir, 'central.yaml');
      fs.writeFileSync(cfgFile, `box: { id: central }\npaths: { state: ${dir} }\nsync: { url: "${broker.url}", topicPrefix: classroom/v1 }\n`);
      const procs = new Map<string, ChildProcess>();
      const receiver = (id: string) => {
        const p = spawn(process.execPath, [cli, '--config', cfgFile, 'central', '--db', pgs.url(), '--client-id', id, '--reorder-timeout', '1000'], {
          stdio: ['ignore', 'ignore', 'ignore'],
          env: { ...process.env, LOG_LEVEL: 'warn' },
        });
        procs.set(id, p);
        return p;
      };
      const ctxs = ['pg-box-1', 'pg-box-2', 'pg-box-3'].map((b) => agentContext(tempDir(b), { url: broker.url, batchSize: 200, ackTimeoutMs: 3000, reconnectMinMs: 100, reconnectMaxMs: 500 }, b));
      const clients: SyncClient[] = [];
      try {
        for (const id of ['c-1', 'c-2', 'c-3']) receiver(id);
        const N = 4000;
        for (const ctx of ctxs) {
          const ob = new Outbox(ctx.store);
          ctx.store.tx(() => {
            for (let i = 0; i < N; i++) ob.enqueue('alarm', 1_760_000_000_000 + i, { kind: 'load', subject: `s${i}`, state: 'raised' });
          });
        }
        await new Promise((r) => setTimeout(r, 1500)); // the receivers subscribe
        for (const ctx of ctxs) {
          const c = new SyncClient(ctx);
          clients.push(c);
          await c.start();
        }
        const backlog = () => ctxs.reduce((a, ctx) => a + new Outbox(ctx.store).backlog().count, 0);
        await waitFor(() => backlog() < (3 * N) / 2, 120_000, 'half drained', 20);
        procs.get('c-2')!.kill('SIGKILL');
        await waitFor(() => backlog() === 0, 180_000, 'drained', 200);
        const db = new PgCentralDb(pgs.url());
        try {
          for (const ctx of ctxs) {
            expect(await db.count(ctx.cfg.box.id)).toBe(N);
            const rel = await db.releasedSeqs(ctx.cfg.box.id);
            expect(rel).toEqual(Array.from({ length: N }, (_, i) => i + 1));
          }
        } finally {
          await db.close();
        }
      } finally {
        for (const c of clients) await c.stop();
        for (const ctx of ctxs) ctx.store.close();
        for (const p of procs.values()) p.kill('SIGKILL');
        await broker.stop();
      }
    }, 400_000);
  });
});
