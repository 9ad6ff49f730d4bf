import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, entryJson, type Entry } from '../evidence/canonical.js';
import { consistencyProof, inclusionProof, memoryTree, rootOf, verifyConsistency, verifyInclusion } from '../evidence/merkle.js';
import { batchData, batchJson, batchMembers, evidenceLog, TILE } from './evidence-log.js';
import { Store } from './store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evlog-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The tree as the RFC defines it, from the leaf hashes the table holds (the reference the store's tree must equal). */
const reference = (s: Store) => memoryTree(s.db.prepare('SELECT leaf FROM evidence_log ORDER BY seq').pluck().all() as Buffer[]);

function expectSameTree(s: Store, sizes: number[]): void {
  const log = evidenceLog(s);
  const ref = reference(s);
  for (const n of sizes) {
    expect(log.root(n).equals(rootOf(ref, n)), `root of ${n}`).toBe(true);
    for (const i of [0, Math.floor(n / 3), n - 1]) {
      const p = log.inclusion(i, n);
      expect(p).toEqual(inclusionProof(ref, i, n));
      expect(verifyInclusion(i, n, ref.node(0, i), p, rootOf(ref, n))).toBe(true);
    }
    for (const m of [1, Math.floor(n / 2), n - 1].filter((m) => m >= 1 && m < n)) {
      const p = log.consistency(m, n);
      expect(p).toEqual(consistencyProof(ref, m, n));
      expect(verifyConsistency(m, n, p, rootOf(ref, m), rootOf(ref, n))).toBe(true);
    }
  }
}

describe('evidence log append path (nodes stored from level TILE up, settled before roots and proofs)', () => {
  it('gives the RFC 9162 tree, roots and proofs across tile boundaries, and stores only the upper nodes', () => {
    const s = new Store({ file: path.join(dir, 'a.db') });
    const log = evidenceLog(s);
    for (let i = 0; i < 700; i += 50) s.tx(() => Array.from({ length: 50 }, (_, j) => log.appendEvidence('test', { i: i + j }, { ref: JSON.stringify(['t', i + j]) })));
    expect(log.size()).toBe(701); // and the fresh store's adoption entry
    // appending stores no node (the intake's path); a read-only store hashes the missing ones from their children
    const nodeCount = () => s.db.prepare('SELECT COUNT(*) FROM evidence_nodes').pluck().get() as number;
    expect(nodeCount()).toBe(0);
    const ro = new Store({ file: path.join(dir, 'a.db'), readonly: true });
    expectSameTree(ro, [1, 255, 256, 513, 701]);
    expect(evidenceLog(ro).settle()).toBe(0);
    ro.close();
    expect(nodeCount()).toBe(0);
    // another process holds the write lock: nothing is settled, the proofs are still right
    const other = new Store({ file: path.join(dir, 'a.db') });
    other.db.exec('BEGIN IMMEDIATE');
    s.db.pragma('busy_timeout = 20');
    expect(log.settle()).toBe(0);
    expect(log.root(701).equals(rootOf(reference(s), 701))).toBe(true);
    other.db.exec('ROLLBACK');
    other.close();
    s.db.pragma('busy_timeout = 5000');
    expect(nodeCount()).toBe(0);
    expectSameTree(s, [1, 2, 255, 256, 257, 511, 512, 513, 701]);
    // settled by the first root; settling again stores nothing more
    expect(log.settle()).toBe(0);
    const levels = s.db.prepare('SELECT MIN(level) AS lo, COUNT(*) AS n FROM evidence_nodes').get() as { lo: number; n: number };
    // every complete subtree from level TILE up, none below
    let complete = 0;
    for (let l = TILE; 2 ** l <= 701; l++) complete += Math.floor(701 / 2 ** l);
    expect(levels).toEqual({ lo: TILE, n: complete });
    s.close();
  });

  it('stays right after a transaction that appended rolls back, and after another connection appended', () => {
    const file = path.join(dir, 'b.db');
    const s = new Store({ file });
    const log = evidenceLog(s);
    s.tx(() => {
      for (let i = 0; i < 300; i++) log.appendEvidence('test', { i });
    });
    // appended, then the caller's transaction failed: the entries are gone, numbering goes on from the table
    expect(() =>
      s.tx(() => {
        for (let i = 0; i < 7; i++) log.appendEvidence('test', { lost: i });
        throw new Error('caller failed');
      }),
    ).toThrow('caller failed');
    expect(log.size()).toBe(301);
    s.tx(() => log.appendEvidence('test', { after: 'rollback' }));
    // a rollback followed by another connection appending exactly as many entries
    expect(() =>
      s.tx(() => {
        log.appendEvidence('test', { lost: 'again' });
        throw new Error('caller failed');
      }),
    ).toThrow('caller failed');
    const other = new Store({ file });
    for (let i = 0; i < 40; i++) evidenceLog(other).appendEvidence('test', { other: i });
    other.close();
    s.tx(() => log.appendEvidence('test', { after: 'other connection' }));
    expect(log.size()).toBe(343);
    expectSameTree(s, [256, 302, 342, 343]);
    s.close();
    // a store opened again appends after the table's last entry
    const again = new Store({ file });
    evidenceLog(again).appendEvidence('test', { reopened: true });
    expectSameTree(again, [344]);
    again.close();
  });

  it('stays right when another connection appended with no rollback here, and after a savepoint rolled back inside a transaction that commits', () => {
    const file = path.join(dir, 'c.db');
    const s = new Store({ file });
    const log = evidenceLog(s);
    s.tx(() => log.appendEvidence('test', { i: 0 }));
    // the next seq is taken by the other connection's entries: the append numbers after them
    const other = new Store({ file });
    for (let i = 0; i < 5; i++) evidenceLog(other).appendEvidence('test', { other: i });
    other.close();
    s.tx(() => log.appendEvidence('test', { after: 'other connection' }));
    expect(log.size()).toBe(8);
    // a nested transaction (a SAVEPOINT) that appended and failed, inside one that goes on and commits
    s.tx(() => {
      log.appendEvidence('test', { kept: 1 });
      expect(() =>
        s.tx(() => {
          for (let i = 0; i < 3; i++) log.appendEvidence('test', { lost: i });
          throw new Error('inner failed');
        }),
      ).toThrow('inner failed');
      log.appendEvidence('test', { kept: 2 });
    });
    expect(log.size()).toBe(10);
    expect(s.db.prepare('SELECT COUNT(*) FROM evidence_log WHERE entry LIKE ?').pluck().get('%lost%')).toBe(0);
    expectSameTree(s, [1, 2, 8, 9, 10]);
    s.close();
  });

  it('writes entries exactly as canonicalJson does (the fast paths change no byte)', () => {
    const d = { a: 1, b: 'x"\u2028', c: null, d: true, e: -0.5, f: 1e21 };
    const cases: Entry[] = [
      { v: 1, k: 'checkin', t: 1, d },
      { v: 1, k: 'checkin', t: 2, r: '["checkins",1]', c: 4, x: null, d },
      { v: 1, k: 'purge', t: 3, x: 9, d: { z: 1, a: [1, { y: 2, b: 3 }], '10': 1, '9': 2 } },
      { v: 1, k: 'removed', t: 4, r: 'r', d: null },
      {
        v: 1,
        k: 'raw-input',
        t: 5,
        r: '["raw_inputs",1]',
        x: 7,
        d,
        b: {
          cols: ['id', 'a'],
          rows: [
            [1, 'x'],
            [2, null],
          ],
        },
      },
    ];
    for (const e of cases) expect(entryJson(e)).toBe(canonicalJson(e));
    // out of order keys, nested values and integer-like keys take the general path
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    expect(canonicalJson({ '10': 1, '9': 2 })).toBe('{"10":1,"9":2}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow('non-finite');
    // a batch entry's rows: flat arrays take JSON.stringify, item for item what the general path writes
    const row = [1, 'x"\u2028', null, true, -0, 1e21, -0.5];
    expect(canonicalJson(row)).toBe(`[${row.map((x) => canonicalJson(x)).join(',')}]`);
    expect(canonicalJson({ rows: [row, [2, { b: 1, a: 2 }]] })).toBe(`{"rows":[${canonicalJson(row)},[2,{"a":2,"b":1}]]}`);
    expect(() => canonicalJson([1, Number.POSITIVE_INFINITY])).toThrow('non-finite');
  });
});

describe('batch members', () => {
  it('columns written once in `same` reach every member; an entry from before `same` reads as it did; a malformed one throws', () => {
    const cols = ['id', 'person', 'expires_ms'];
    const withSame = batchMembers({
      cols,
      rows: [
        [1, 'a', 5],
        [2, 'b', 6],
      ],
      same: { raw_id: 7, terminal: 't1' },
    });
    expect(withSame).toEqual([
      { id: 1, d: { raw_id: 7, terminal: 't1', person: 'a' }, x: 5 },
      { id: 2, d: { raw_id: 7, terminal: 't1', person: 'b' }, x: 6 },
    ]);
    // the expiry shared by every member
    expect(batchMembers({ cols: ['id', 'person'], rows: [[1, 'a']], same: { expires_ms: 9 } })).toEqual([{ id: 1, d: { person: 'a' }, x: 9 }]);
    expect(batchMembers({ cols, rows: [[1, 'a', 5]] })).toEqual([{ id: 1, d: { person: 'a' }, x: 5 }]);
    expect(() => batchMembers({ cols, rows: [[1, 'a', 5]], same: { person: 'b' } })).toThrow('both shared and per row');
    expect(() => batchMembers({ cols, rows: [[1, 'a', 5]], same: { id: 3 } })).toThrow('both shared and per row');
    expect(() => batchMembers({ cols, rows: [[1, 'a', 5]], same: [1] })).toThrow('malformed same');
  });

  it('batchJson writes byte for byte what canonicalJson writes of the same batch, and its members read back', () => {
    const row = (i: number, o: Record<string, unknown> = {}) => ({
      id: 10 + i,
      row: {
        dedup_key: `zk:SN:${i}:2026-03-02 08:00:0${i}`,
        terminal: 'zk',
        person: String(100 + i),
        trainee: i % 2 ? 'T1' : null,
        class_id: 'C1',
        at_ms: 1772412000000 + i,
        tz_offset_min: 480,
        verify_mode: '15',
        similarity: null,
        raw_id: 7,
        expires_ms: 1890000000000 + (i % 2),
        sync_state: 'pending', // not evidence: not written
        ...o,
      },
    });
    const cases = [
      [row(1)], // one check-in: nothing shared
      [row(1), row(2), row(3)], // shared columns in `same`, the expiry per row
      [row(1), row(3)], // the expiry shared too
      [row(1, { person: 'a"\u2028\u00e9' }), row(2, { similarity: 0.5 }), row(3, { similarity: -0 })], // escapes, floats, -0
      [row(1, { at_ms: 1e21 }), row(2, { verify_mode: undefined })], // large numbers, an absent column is null
      [row(1, { similarity: { b: 1, a: 2 } }), row(2)], // not a plain value: the general path
    ];
    for (const items of cases) {
      const { json, expires } = batchJson(items);
      expect(json.json).toBe(canonicalJson(batchData(items)));
      expect(expires).toBe(Math.max(...items.map((i) => i.row.expires_ms)));
      const back = batchMembers(JSON.parse(json.json));
      expect(back.map((m) => m.id)).toEqual(items.map((i) => i.id));
      for (const [k, m] of back.entries()) {
        expect(m.x).toBe(items[k].row.expires_ms);
        expect(m.d.person).toBe(items[k].row.person);
        expect(m.d.raw_id).toBe(7);
        expect(m.d).not.toHaveProperty('sync_state');
      }
    }
    expect(() => batchJson([row(1, { at_ms: Number.NaN }), row(2)])).toThrow('non-finite');
    // an entry carrying the text writes it as is, and canonicalJson of the whole entry agrees
    const e: Entry = { v: 1, k: 'raw-input', t: 1, r: '["raw_inputs",7]', x: 2, d: { a: 1 }, b: batchJson(cases[1]).json };
    expect(entryJson(e)).toBe(canonicalJson({ ...e, b: batchData(cases[1]) }));
  });
});
