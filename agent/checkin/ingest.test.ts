import { afterEach, describe, expect, it } from 'vitest';
import { startCheckin } from './harness.js';
import type { CheckIn } from './types.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const ci = (person: string, at: number): CheckIn => ({ protocol: 'webhook', terminal: 't', person, at, tzOffsetMin: 0, verifyMode: null, similarity: null, dedupKey: `test:${person}:${at}` });

describe('group commit', () => {
  it('one input SQLite refuses does not fail the others; its raw body is still kept and reported', async () => {
    const s = await startCheckin();
    cleanups.push(() => s.stop());
    const ingest = s.server.intake!;
    const raw = (b: string) => ({ protocol: 'webhook' as const, terminal: null, channel: 'http' as const, body: Buffer.from(b), receivedMs: Date.now() });
    const [a, bad, c] = await Promise.all([
      ingest.submit({ raw: raw('a'), parse: () => ({ checkins: [ci('A', 1_000)], rejects: [] }) }),
      // a value SQLite cannot bind: the whole batch transaction fails
      ingest.submit({ raw: raw('poison'), parse: () => ({ checkins: [{ ...ci('B', 2_000), verifyMode: {} as never }], rejects: [] }) }),
      ingest.submit({ raw: raw('c'), parse: () => ({ checkins: [ci('C', 3_000)], rejects: [] }) }),
    ]);
    expect([a.status, c.status]).toEqual(['ok', 'ok']);
    expect(bad.status).toBe('unparsable');
    expect(bad.error).toMatch(/^not stored: /);
    const db = s.ctx.store.db;
    expect(db.prepare('SELECT person FROM checkins ORDER BY person').pluck().all()).toEqual(['A', 'C']);
    expect((db.prepare("SELECT body FROM raw_inputs WHERE status = 'unparsable'").pluck().get() as Buffer).toString()).toBe('poison');
    expect(db.prepare('SELECT COUNT(*) FROM raw_inputs').pluck().get()).toBe(3);
  });

  it('a parser slip (no time) is rejected and reported, never stored half-made nor counted as a duplicate', async () => {
    const s = await startCheckin();
    cleanups.push(() => s.stop());
    const o = await s.server.intake!.submit({
      raw: { protocol: 'webhook', terminal: null, channel: 'http', body: Buffer.from('x'), receivedMs: Date.now() },
      parse: () => ({ checkins: [ci('A', 1_000), ci('B', Number.NaN)], rejects: [] }),
    });
    expect(o).toMatchObject({ status: 'partial', duplicates: 0 });
    expect(o.stored.map((c) => c.person)).toEqual(['A']);
    expect(o.rejects).toHaveLength(1);
  });
});
