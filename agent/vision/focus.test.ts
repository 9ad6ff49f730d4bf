import { describe, expect, it } from 'vitest';
import type { Box } from './engine.js';
import { FocusPlanner, focusLost, sceneChanged, type FrameOutcome, type FramePlan } from './focus.js';

const box = (x: number, y: number, w: number): Box => ({ x, y, width: w, height: w * 1.2 });
/** a seated classroom: two big faces the whole-frame pass finds, two small ones only the tiles find */
const big = [box(100, 600, 160), box(900, 620, 150)];
const small = [box(300, 100, 40), box(1500, 120, 48)];
const outcome = (full: boolean, whole: Box[], faces: Box[]): FrameOutcome => ({ full, whole, faces: faces.map((b) => ({ box: b })) });
const S = 10_000;

/** plan and observe frame after frame, every face found as given */
function run(p: FocusPlanner, times: number[], faces = [...big, ...small], whole = big): FramePlan[] {
  return times.map((t) => {
    const plan = p.plan('cam1', t);
    p.observe('cam1', t, plan, outcome(plan.full, whole, faces));
    return plan;
  });
}

describe('FocusPlanner', () => {
  it('runs the full search on the first frame and then every Nth frame', () => {
    const plans = run(
      new FocusPlanner({ fullEvery: 3, sampleEveryMs: S }),
      [0, 1, 2, 3, 4, 5, 6].map((i) => i * S),
    );
    expect(plans.map((x) => x.full)).toEqual([true, false, false, true, false, false, true]);
  });

  it('runs it on every frame at fullEvery 1 (today’s behaviour)', () => {
    const plans = run(
      new FocusPlanner({ fullEvery: 1, sampleEveryMs: S }),
      [0, 1, 2, 3].map((i) => i * S),
    );
    expect(plans.every((x) => x.full)).toBe(true);
  });

  it('runs it after a gap longer than 2.5 sampling intervals, and when time goes back (a re-scan)', () => {
    const p = new FocusPlanner({ fullEvery: 10, sampleEveryMs: S });
    run(p, [0, S]);
    expect(p.plan('cam1', S + 2.5 * S).full).toBe(false); // exactly 2.5 intervals after the last outcome: still close
    const q = new FocusPlanner({ fullEvery: 10, sampleEveryMs: S });
    run(q, [0, S]);
    expect(q.plan('cam1', S + 2.5 * S + 1).full).toBe(true);
    const r = new FocusPlanner({ fullEvery: 10, sampleEveryMs: S });
    run(r, [0, S, 2 * S]);
    expect(r.plan('cam1', 0).full).toBe(true);
  });

  it('keeps cameras apart', () => {
    const p = new FocusPlanner({ fullEvery: 3, sampleEveryMs: S });
    run(p, [0, S]);
    expect(p.plan('cam2', 2 * S).full).toBe(true);
    expect(p.plan('cam1', 2 * S).full).toBe(false);
  });

  it('focuses on the faces the whole-frame pass missed or that are small, with the previous whole-frame faces', () => {
    const p = new FocusPlanner({ fullEvery: 3, sampleEveryMs: S });
    // an 80 px face the whole frame found this time is still focused (focusBelow 130): it is found one frame and missed the next
    const mid = box(1200, 300, 80);
    const plan0 = p.plan('cam1', 0);
    p.observe('cam1', 0, plan0, outcome(true, [...big, mid], [...big, mid, ...small]));
    const plan = p.plan('cam1', S);
    if (plan.full) throw new Error('expected a focus plan');
    expect(plan.focus).toEqual(expect.arrayContaining([mid, ...small]));
    expect(plan.focus).toHaveLength(3);
    expect(plan.previous).toEqual([...big, mid]);
  });

  it('holds a region whose face was not found for holdFrames frames, then drops it', () => {
    const p = new FocusPlanner({ fullEvery: 100, sampleEveryMs: S, holdFrames: 2 });
    run(p, [0], [...big, ...small]);
    const counts: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const plan = p.plan('cam1', i * S);
      if (plan.full) throw new Error('expected a focus plan');
      counts.push(plan.focus.length);
      // the first small face turned away: only the second is found from now on
      p.observe('cam1', i * S, plan, outcome(false, big, [...big, small[1]!]));
    }
    expect(counts).toEqual([2, 2, 2, 1]);
  });

  it('starts the focus afresh from a full search (regions of people who left are not kept)', () => {
    const p = new FocusPlanner({ fullEvery: 2, sampleEveryMs: S, holdFrames: 5 });
    run(p, [0]);
    const moved = [box(700, 150, 44)];
    const full = p.plan('cam1', S);
    expect(full.full).toBe(false);
    p.observe('cam1', S, full, outcome(false, big, big)); // nobody small found: both held
    const f2 = p.plan('cam1', 2 * S);
    expect(f2.full).toBe(true);
    p.observe('cam1', 2 * S, f2, outcome(true, big, [...big, ...moved]));
    const next = p.plan('cam1', 3 * S);
    if (next.full) throw new Error('expected a focus plan');
    expect(next.focus).toEqual(moved);
  });

  it('follows a focused face that moved a little (its region moves with it)', () => {
    const p = new FocusPlanner({ fullEvery: 100, sampleEveryMs: S });
    run(p, [0]);
    const plan = p.plan('cam1', S);
    const moved = { ...small[0]!, x: small[0]!.x + 3, y: small[0]!.y - 2 };
    p.observe('cam1', S, plan, outcome(false, big, [...big, moved, small[1]!]));
    const next = p.plan('cam1', 2 * S);
    if (next.full) throw new Error('expected a focus plan');
    expect(next.focus).toContainEqual(moved);
    expect(next.focus).toHaveLength(2);
  });

  it('restarts the count when the thread ran the full search because the scene changed', () => {
    const p = new FocusPlanner({ fullEvery: 3, sampleEveryMs: S });
    run(p, [0]);
    const plan = p.plan('cam1', S);
    expect(plan.full).toBe(false);
    p.observe('cam1', S, plan, outcome(true, big, big)); // escalated by the thread
    expect(p.plan('cam1', 2 * S).full).toBe(false);
    expect(p.plan('cam1', 3 * S).full).toBe(false); // counted from the escalated frame, not from frame 0
  });

  it('with two frames in flight: plans from the last outcome it has, and ignores an older one arriving late', () => {
    const p = new FocusPlanner({ fullEvery: 3, sampleEveryMs: S });
    const a = p.plan('cam1', 0);
    const b = p.plan('cam1', S); // no outcome yet: full as well
    expect([a.full, b.full]).toEqual([true, true]);
    p.observe('cam1', S, b, outcome(true, big, [...big, ...small]));
    p.observe('cam1', 0, a, outcome(true, [], [])); // late and older: must not wipe frame 1's faces
    const c = p.plan('cam1', 2 * S);
    if (c.full) throw new Error('expected a focus plan');
    expect(c.focus).toHaveLength(2);
    expect(c.previous).toEqual(big);
  });
});

describe('sceneChanged', () => {
  it('is false when the faces stay (± a few px) and when there are none', () => {
    expect(
      sceneChanged(
        big,
        big.map((b) => ({ ...b, x: b.x + 3 })),
      ),
    ).toBe(false);
    expect(sceneChanged([], [])).toBe(false);
  });
  it('is true when fewer than half line up: people moved, arrived or left', () => {
    const moved = big.map((b) => ({ ...b, x: b.x + 200 }));
    expect(sceneChanged(big, moved)).toBe(true);
    expect(sceneChanged([], big)).toBe(true);
    expect(sceneChanged(big, [])).toBe(true);
    // one of two stays: half line up, not fewer
    expect(sceneChanged(big, [big[0]!, moved[1]!])).toBe(false);
    // one of two stays but three new faces came: 1 of 4
    expect(sceneChanged(big, [big[0]!, ...moved, box(1600, 700, 120)])).toBe(true);
  });
});

describe('focusLost', () => {
  it('is true when fewer than half of two or more focus regions found their face', () => {
    expect(
      focusLost(
        small,
        small.map((b) => ({ ...b, y: b.y + 2 })),
      ),
    ).toBe(false);
    expect(focusLost(small, [small[0]!])).toBe(false); // one of two: a face turned away
    expect(focusLost([...small, box(700, 150, 44)], [small[0]!])).toBe(true);
    expect(focusLost(small, big)).toBe(true);
    expect(focusLost([small[0]!], [])).toBe(false); // one region says little
  });
});
