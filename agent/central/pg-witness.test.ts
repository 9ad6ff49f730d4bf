import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxOutbox, fillBox, growBox, makeBox, ORIGIN } from '../evidence/fixture.js';
import { loadOrCreateLogKey } from '../evidence/keys.js';
import { TestPostgres } from '../sim/postgres.js';
import { checkRecordData } from '../sync/schemas.js';
import type { WireRecord } from '../sync/contract.js';
import { PgCentralDb } from './pg.js';

/**
 * The witness on the PostgreSQL central (a real PostgreSQL, agent/sim/postgres.ts): the boxes'
 * real signed checkpoints, delivered to two receiver instances at once (as after a lost ack),
 * give each verdict and each alarm exactly once.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-witness-'));
let pgs: TestPostgres;
let n = 0;
beforeAll(async () => {
  pgs = await new TestPostgres().start();
}, 120_000);
afterAll(async () => {
  await pgs?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const outbox = boxOutbox;
const grow = growBox;

const check = (r: WireRecord) =>
  checkRecordData(r.type, r.data)
    .map((i) => i.message)
    .join('; ');

/** Two central instances on one database (each its own pool), each given every batch at the same time. */
async function province() {
  const url = pgs.url();
  const instances = [new PgCentralDb(url, { witness: true }), new PgCentralDb(url, { witness: true })];
  const both = (box: string, recs: WireRecord[]) => Promise.all(instances.map((i) => i.storeBatch(box, 1, recs, Date.now(), check)));
  return { a: instances[0], both, close: () => Promise.all(instances.map((i) => i.close())) };
}

describe('the witness on the PostgreSQL central', () => {
  it('an appending box: every checkpoint passes once; a fork and a rollback each raise one alarm, a bad consistency proof is caught', async () => {
    const p = await province();
    try {
      const f = makeBox(path.join(tmp, `b${n++}`));
      fillBox(f);
      fs.copyFileSync(f.db, path.join(f.dir, 'old.db'));
      // a copy of the box with the same key, to grow another history from the same start
      const g = makeBox(path.join(tmp, `b${n++}`));
      fs.copyFileSync(f.db, g.db);
      fs.cpSync(f.keys, g.keys, { recursive: true });
      g.key = loadOrCreateLogKey(g.keys, ORIGIN);
      g.clock.now = f.clock.now;
      const gLast = outbox(g).reduce((m, r) => Math.max(m, r.seq), 0);
      grow(f, 'X1');
      grow(f, 'X2');
      const recs = outbox(f);
      // delivered in three batches, each to both instances at once
      for (let i = 0; i < recs.length; i += 5) await p.both('box-a', recs.slice(i, i + 5));
      expect(await p.a.witnessAlarms()).toEqual([]);
      expect(await p.a.witnessBoxes()).toEqual([{ box: 'box-a', checkpoints: 3, size: expect.any(Number) }]);

      // consistency proof: the next checkpoint with one proof hash altered
      grow(f, 'X3');
      const top = recs[recs.length - 1].seq;
      const next = outbox(f, top);
      const cp = next.find((r) => r.type === 'checkpoint')!;
      const data = cp.data as { proof: string[] };
      const badProof = { ...cp, seq: top + 1, id: 'bad-proof', data: { ...data, proof: [Buffer.alloc(32, 7).toString('base64'), ...data.proof.slice(1)] } };
      await p.both('box-a', [badProof]);
      expect((await p.a.witnessAlarms()).map((x) => x.kind)).toEqual(['fork']);

      // fork: the copy grows otherwise and sends its checkpoint with fresh sequence numbers
      // (as far as the original: the same size signed with another root)
      grow(g, 'B1');
      grow(g, 'B2');
      const gcp = outbox(g, gLast)
        .filter((r) => r.type === 'checkpoint')
        .slice(-1);
      await p.both(
        'box-b-fork',
        outbox(f).filter((r) => r.seq <= top),
      );
      await p.both(
        'box-b-fork',
        gcp.map((r, i) => ({ ...r, seq: top + 1 + i, id: `g-${i}` })),
      );
      expect((await p.a.witnessAlarms('box-b-fork')).map((x) => x.kind)).toEqual(['fork']);

      // rollback: the box restored from its older copy carries on, reusing sequence numbers
      const h = makeBox(path.join(tmp, `b${n++}`));
      fs.copyFileSync(path.join(f.dir, 'old.db'), h.db);
      fs.cpSync(f.keys, h.keys, { recursive: true });
      h.key = loadOrCreateLogKey(h.keys, ORIGIN);
      h.clock.now = f.clock.now;
      const before = outbox(h).length;
      grow(h, 'Y1');
      await p.both('box-c', recs);
      await p.both('box-c', outbox(h).slice(before - 1));
      const c = await p.a.witnessAlarms('box-c');
      expect(c.map((x) => x.kind)).toEqual(['rollback']);
    } finally {
      await p.close();
    }
  }, 180_000);
});
