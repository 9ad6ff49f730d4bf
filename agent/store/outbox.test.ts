import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../sync/testkit.js';
import { Outbox, toRanges } from './outbox.js';
import { Store } from './store.js';

const stores: Store[] = [];
afterEach(() => {
  while (stores.length) stores.pop()!.close();
});

function open() {
  const store = new Store({ file: path.join(tempDir('outbox'), 'e.db') });
  stores.push(store);
  return { store, ob: new Outbox(store) };
}

describe('outbox drain side', () => {
  it('reads unacked batches in order, settles only sent rows, resends from any seq', () => {
    const { store, ob } = open();
    store.tx(() => {
      for (let i = 0; i < 10; i++) ob.enqueue('alarm', i, { n: i }, `r${i}`);
    });
    const first = ob.unacked(0, 4);
    expect(first.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(first[2]!.data).toEqual({ n: 2 });
    expect(first[2]!.payload).toBe('{"n":2}');
    ob.markSent([1, 2, 3, 4], 100);
    // an ack covering more than was sent settles only what was sent
    expect(ob.settle([[1, 10]], 200)).toEqual([1, 2, 3, 4]);
    expect(ob.settle([[1, 4]], 300)).toEqual([]); // already settled: not counted twice
    expect(ob.backlog().count).toBe(6);
    expect(ob.unacked(0, 100).map((r) => r.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(ob.stillUnacked([3, 4, 5, 6]).map((r) => r.seq)).toEqual([5, 6]);
    // resend from any seq includes acked rows
    expect(ob.range(3, 6, 100).map((r) => r.seq)).toEqual([3, 4, 5, 6]);
    expect(ob.maxSeq()).toBe(10);
    expect(ob.floor()).toBe(1);
    // the byte cap always lets one row through
    expect(ob.unacked(0, 100, 1).length).toBe(1);
  });

  it('ranges', () => {
    expect(toRanges([4, 1, 2, 9, 3])).toEqual([
      [1, 4],
      [9, 9],
    ]);
  });
});
