import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from './store.js';
import { RecordingRepo } from './recordings.js';

const seg = (repo: RecordingRepo, start: number, end: number, n: number) => repo.addSegment({ camera: 'c1', path: `/v/c1/${n}.mp4`, start, end, bytes: 1, sha256: 'x'.repeat(64) });

describe('coverage queries', () => {
  it('recorded intervals, longest continuous stretch and gaps with reasons for a camera and window', () => {
    const store = new Store({ file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ca-cov-')), 'e.db') });
    const repo = new RecordingRepo(store);
    const S = 1_000_000;
    seg(repo, S, S + 60_000, 1);
    seg(repo, S + 60_000, S + 120_000, 2);
    // camera drops: a gap with its reason, closed by the next segment
    repo.openGap('c1', S + 120_000, 'camera unreachable', 'test');
    expect(repo.openGapOf('c1')?.reason).toBe('camera unreachable');
    // a second failure while the gap is open does not open another
    expect(repo.openGap('c1', S + 125_000, 'stream stalled').created).toBe(false);
    const r = seg(repo, S + 150_000, S + 210_000, 3);
    expect(r.closedGap).toMatchObject({ start_ms: S + 120_000, end_ms: S + 150_000, reason: 'camera unreachable' });
    seg(repo, S + 211_000, S + 270_000, 4); // 1 s hole: continuous within a 2 s tolerance

    const cov = repo.coverage('c1', { start: S - 10_000, end: S + 300_000 }, 2000);
    expect(cov.recorded).toEqual([
      { start: S, end: S + 120_000 },
      { start: S + 150_000, end: S + 210_000 },
      { start: S + 211_000, end: S + 270_000 },
    ]);
    expect(cov.recordedMs).toBe(239_000);
    expect(cov.longestContinuousMs).toBe(120_000);
    expect(cov.gaps).toEqual([{ start: S + 120_000, end: S + 150_000, reason: 'camera unreachable', detail: 'test', open: false }]);
    expect(cov.uncovered).toEqual([
      { start: S - 10_000, end: S, reason: 'not recorded' },
      { start: S + 120_000, end: S + 150_000, reason: 'camera unreachable' },
      { start: S + 210_000, end: S + 211_000, reason: 'not recorded' },
      { start: S + 270_000, end: S + 300_000, reason: 'not recorded' },
    ]);
    // inside the stretch from 150 s the 1 s hole does not break continuity
    expect(repo.coverage('c1', { start: S + 150_000, end: S + 270_000 }, 2000).longestContinuousMs).toBe(120_000);
    expect(repo.coverage('c1', { start: S + 150_000, end: S + 270_000 }, 0).longestContinuousMs).toBe(60_000);
    // an open gap reaches the end of the window
    repo.openGap('c1', S + 270_000, 'agent stopped');
    expect(repo.coverage('c1', { start: S + 260_000, end: S + 300_000 }, 2000).gaps).toEqual([{ start: S + 270_000, end: S + 300_000, reason: 'agent stopped', detail: null, open: true }]);
    // every segment and gap change is in the outbox for the provincial system
    const types = store.db.prepare('SELECT type, COUNT(*) n FROM outbox GROUP BY type ORDER BY type').all();
    expect(types).toEqual([
      { type: 'recording-gap', n: 3 },
      { type: 'segment', n: 4 },
    ]);
    store.close();
  });
});
