import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireRecord } from '../sync/contract.js';
import { tempDir } from '../sync/testkit.js';
import { CentralDb } from './db.js';

const dbs: CentralDb[] = [];
afterEach(() => {
  while (dbs.length) dbs.pop()!.close();
});

const rec = (seq: number, id = `r${seq}`): WireRecord => ({ id, seq, type: 'alarm', at: 1000 + seq, data: { kind: 'k', subject: 's', state: 'raised' } });
const ok = () => '';

describe('central database', () => {
  it('dedups by box + record id, releases in sequence order, reports the hole', () => {
    const db = new CentralDb(path.join(tempDir('central'), 'c.db'));
    dbs.push(db);
    let r = db.storeBatch('b1', 1, [rec(3), rec(4)], 1, ok, true);
    expect(r).toMatchObject({ fresh: 2, released: [], gapAt: 1, committed: [3, 4] });
    r = db.storeBatch('b1', 1, [rec(1), rec(2), rec(3)], 2, ok, true);
    expect(r.fresh).toBe(2);
    expect(r.duplicates).toBe(1);
    expect(r.released.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(r.gapAt).toBeNull();
    // the same seqs for another box are another box's records
    expect(db.storeBatch('b2', 1, [rec(1)], 3, ok).fresh).toBe(1);
    expect(db.count('b1')).toBe(4);
    expect(db.releasedSeqs('b1')).toEqual([1, 2, 3, 4]);
  });

  it('stores invalid data for review (acked), keeps a reused seq aside, honours the floor', () => {
    const db = new CentralDb(path.join(tempDir('central'), 'c.db'));
    dbs.push(db);
    const r = db.storeBatch('b1', 1, [rec(1), rec(2)], 1, (x) => (x.seq === 2 ? 'data.state: bad' : ''));
    expect(r).toMatchObject({ fresh: 2, invalid: 1, committed: [1, 2] });
    const c = db.storeBatch('b1', 1, [rec(2, 'other-id')], 2, ok);
    expect(c).toMatchObject({ conflicts: 1, committed: [2] });
    expect(db.db.prepare('SELECT COUNT(*) AS n FROM conflicts').get()).toEqual({ n: 1 });
    // a box that pruned rows below 100 (acked long ago): release starts at its floor
    const f = db.storeBatch('b3', 100, [rec(100), rec(101)], 3, ok, true);
    expect(f.released.map((x) => x.seq)).toEqual([100, 101]);
  });

  it('ignores a late will: a status of a lower session never overwrites a newer one', () => {
    const db = new CentralDb(path.join(tempDir('central'), 'c.db'));
    dbs.push(db);
    expect(db.setStatus('b1', 'online', 5, 1, 1)).toBe(true);
    expect(db.setStatus('b1', 'offline', 4, 2, 2)).toBe(false);
    expect(db.box('b1')!.status_state).toBe('online');
    expect(db.setStatus('b1', 'offline', 5, 3, 3)).toBe(true);
  });

  it('claims a lasting gap once', () => {
    const db = new CentralDb(path.join(tempDir('central'), 'c.db'));
    dbs.push(db);
    db.storeBatch('b1', 1, [rec(5)], 1000, ok);
    expect(db.claimGaps(1500, 1000)).toEqual([]);
    expect(db.claimGaps(2000, 1000)).toEqual([{ box: 'b1', from: 1 }]);
    expect(db.claimGaps(2500, 1000)).toEqual([]);
    expect(db.claimGaps(3000, 1000)).toEqual([{ box: 'b1', from: 1 }]);
  });
});
