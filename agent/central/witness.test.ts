import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { boxOutbox, fillBox, growBox, makeBox, ORIGIN, rotateKey } from '../evidence/fixture.js';
import { loadOrCreateLogKey } from '../evidence/keys.js';
import { announceKey } from '../evidence/checkpointer.js';
import { checkRecordData } from '../sync/schemas.js';
import type { WireRecord } from '../sync/contract.js';
import { CentralDb } from './db.js';
import { Witness } from './witness.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

const outbox = boxOutbox;

/** The province: the receiver's database and witness, fed as the receiver feeds them. */
function province() {
  const db = new CentralDb(path.join(tmp, `central-${n++}.db`));
  const w = new Witness(db.db);
  const deliver = (box: string, recs: WireRecord[]) => {
    const check = (r: WireRecord) =>
      checkRecordData(r.type, r.data)
        .map((i) => i.message)
        .join('; ');
    const res = db.storeBatch(box, 1, recs, Date.now(), check, true);
    for (const r of res.released) {
      if (r.type === 'log-key') w.onKey(box, r.seq, r.data as never);
      if (r.type === 'checkpoint') w.onCheckpoint(box, r.seq, r.data as never);
    }
    for (const r of res.conflicted ?? []) if (r.type === 'checkpoint') w.onCheckpoint(box, r.seq, r.data as never, true);
    return res;
  };
  return { db, w, deliver };
}

const grow = growBox;

describe('the province as witness of a box log', () => {
  it('a box that only appends: every checkpoint passes, records valid against the schemas', () => {
    const f = makeBox(path.join(tmp, `b${n++}`));
    fillBox(f);
    grow(f, 'X1');
    grow(f, 'X2');
    const p = province();
    const recs = outbox(f);
    for (const r of recs.filter((x) => x.type === 'checkpoint' || x.type === 'log-key')) expect(checkRecordData(r.type, r.data), r.type).toEqual([]);
    const res = p.deliver('box-test', recs);
    expect(res.invalid).toBe(0);
    expect(p.w.alarms()).toEqual([]);
    expect(p.w.boxes()).toEqual([{ box: 'box-test', checkpoints: 3, size: expect.any(Number) }]);
  });

  it('rollback: the box restored from an older copy sends its next checkpoint', () => {
    const f = makeBox(path.join(tmp, `b${n++}`));
    fillBox(f);
    fs.copyFileSync(f.db, path.join(f.dir, 'old.db'));
    grow(f, 'X1');
    grow(f, 'X2');
    const p = province();
    p.deliver('box-test', outbox(f));
    expect(p.w.alarms()).toEqual([]);
    // restore, then the box carries on: its outbox reuses sequence numbers the province has
    for (const x of ['', '-wal', '-shm']) fs.rmSync(`${f.db}${x}`, { force: true });
    fs.copyFileSync(path.join(f.dir, 'old.db'), f.db);
    const before = outbox(f).length;
    grow(f, 'Y1');
    p.deliver('box-test', outbox(f).slice(before - 1));
    expect(p.w.alarms().map((a) => a.kind)).toContain('rollback');
  });

  it('rollback by size: a smaller log signed after a larger one (fresh sequence numbers)', () => {
    const f = makeBox(path.join(tmp, `b${n++}`));
    fillBox(f);
    const p = province();
    const first = outbox(f);
    p.deliver('box-test', first);
    grow(f, 'X1');
    const second = outbox(f, first[first.length - 1].seq);
    p.deliver('box-test', second);
    // the restored box signs a checkpoint of its old, smaller log and sends it with a new seq
    const g = makeBox(path.join(tmp, `b${n++}`));
    fs.cpSync(f.keys, g.keys, { recursive: true });
    g.key = loadOrCreateLogKey(g.keys, ORIGIN);
    fillBox(g); // same facts, fewer than f now has; signed by the same key
    const cp = outbox(g)
      .filter((r) => r.type === 'checkpoint')
      .pop()!;
    p.deliver('box-test', [{ ...cp, seq: second[second.length - 1].seq + 1, id: 'late' }]);
    expect(
      p.w
        .alarms()
        .map((a) => a.kind)
        .some((k) => k === 'rollback' || k === 'fork'),
    ).toBe(true);
  });

  it('fork: two copies of one box grow differently; the second history is caught', () => {
    const f = makeBox(path.join(tmp, `b${n++}`));
    fillBox(f);
    const g = makeBox(path.join(tmp, `b${n++}`));
    for (const x of ['evidence.db']) fs.copyFileSync(path.join(f.dir, x), path.join(g.dir, x));
    fs.cpSync(f.keys, g.keys, { recursive: true });
    g.key = loadOrCreateLogKey(g.keys, ORIGIN);
    g.clock.now = f.clock.now;
    const base = outbox(f);
    const last = base[base.length - 1].seq;
    grow(f, 'A');
    grow(g, 'B');
    const p = province();
    p.deliver('box-test', outbox(f));
    // g's checkpoint after the shared one, with a fresh sequence number
    const gcp = outbox(g, last).filter((r) => r.type === 'checkpoint');
    const top = outbox(f).reduce((m, r) => Math.max(m, r.seq), 0);
    p.deliver(
      'box-test',
      gcp.map((r, i) => ({ ...r, seq: top + 1 + i, id: `g-${i}` })),
    );
    expect(p.w.alarms().map((a) => a.kind)).toContain('fork');
  });

  it('gap: a checkpoint whose predecessor the province never got', () => {
    const f = makeBox(path.join(tmp, `b${n++}`));
    fillBox(f);
    const p = province();
    const first = outbox(f);
    p.deliver('box-test', first);
    grow(f, 'X1');
    grow(f, 'X2');
    const rest = outbox(f, first[first.length - 1].seq);
    const cps = rest.filter((r) => r.type === 'checkpoint');
    // the first of the two never arrives: deliver the second renumbered so it is released
    p.deliver('box-test', [{ ...cps[1], seq: first[first.length - 1].seq + 1 }]);
    expect(p.w.alarms().map((a) => a.kind)).toEqual(['gap']);
  });

  it('a forged checkpoint (another key) and an unsigned key change', () => {
    const f = makeBox(path.join(tmp, `b${n++}`));
    fillBox(f);
    const p = province();
    const first = outbox(f);
    p.deliver('box-test', first);
    // a new key made without the old one: announced, not trusted; its checkpoints fail
    fs.rmSync(path.join(f.keys, 'log.key'));
    fs.rmSync(path.join(f.keys, 'log.pub'));
    f.key = loadOrCreateLogKey(f.keys, ORIGIN);
    const s = f.open();
    announceKey(s, f.key, ORIGIN);
    s.close();
    grow(f, 'X1');
    p.deliver('box-test', outbox(f, first[first.length - 1].seq));
    expect(p.w.alarms().map((a) => a.kind)).toEqual(['key-change-unsigned', 'bad-signature']);
  });

  it('a key change signed by the previous key is accepted', () => {
    const f = makeBox(path.join(tmp, `b${n++}`));
    fillBox(f);
    const p = province();
    const first = outbox(f);
    p.deliver('box-test', first);
    rotateKey(f);
    grow(f, 'X1');
    p.deliver('box-test', outbox(f, first[first.length - 1].seq));
    expect(p.w.alarms()).toEqual([]);
  });
});
