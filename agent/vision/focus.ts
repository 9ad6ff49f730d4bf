import { iou, type Box } from './engine.js';

/**
 * What the analysis thread does with one frame. `full`: the whole frame and every tile (the
 * tiled search, engine.ts). Otherwise the whole frame and a mosaic of the regions around
 * `focus` (mosaic.ts), unless the whole frame's faces no longer line up with `previous` (the
 * last analysed frame's whole-frame faces): then the thread runs the full search after all.
 */
export type FramePlan = { full: true } | { full: false; focus: Box[]; previous: Box[] };

/** What the thread did with a frame, as the planner needs it back. */
export interface FrameOutcome {
  /** the full tiled search ran (planned, or the scene had changed) */
  full: boolean;
  /** the faces the whole-frame pass found */
  whole: Box[];
  /** every face found (whole frame, tiles or mosaic, merged) */
  faces: { box: Box }[];
}

export interface FocusOptions {
  /** the full tiled search every Nth frame of a camera (vision.fullScanEvery; 1: always) */
  fullEvery: number;
  /** vision.sampleEverySeconds, in ms: a camera whose last analysed frame is older than 2.5× this gets a full search */
  sampleEveryMs: number;
  /**
   * faces narrower than this (px of the analysed frame) stay in focus even when the whole-frame
   * pass found them this time: at 1920 px the whole frame reaches the SSD 3.75× smaller, so a
   * 100 px face arrives as 27 px, where the SSD finds it one frame and misses it the next (bench
   * vision-accuracy: the whole frame alone detects 78 % of 80-119 px faces, 96 % of 120-180 px)
   */
  focusBelow?: number;
  /** focus frames a region is kept after its face was last found (a face turned away comes back); a full search starts the list afresh */
  holdFrames?: number;
}

interface Camera {
  /** frames planned since the last planned full search */
  sinceFull: number;
  /** time of the last analysed frame whose outcome came back (undefined: none yet) */
  observedAt?: number;
  /** the whole-frame faces of that frame */
  whole: Box[];
  focus: { box: Box; missed: number }[];
}

/**
 * Fewer than half of the faces line up (IoU ≥ 0.3) between the last frame's whole-frame pass and
 * this one's: people moved (a break, a new seating), so the focus regions are stale. Counted
 * against the larger of the two lists: people arriving count as much as people leaving.
 */
export function sceneChanged(previous: readonly Box[], now: readonly Box[]): boolean {
  const n = Math.max(previous.length, now.length);
  if (n === 0) return false;
  const matched = previous.filter((p) => now.some((b) => iou(p, b) >= 0.3)).length;
  return matched < n / 2;
}

/**
 * Fewer than half of the focus regions (at least two of them) found a face this frame: the
 * people there moved (the whole-frame pass sees only the big faces, and those may stay put when
 * the back rows change), so the thread searches everywhere after all.
 */
export function focusLost(focus: readonly Box[], found: readonly Box[]): boolean {
  if (focus.length < 2) return false;
  const kept = focus.filter((f) => found.some((b) => iou(f, b) >= 0.3)).length;
  return kept < focus.length / 2;
}

/**
 * Per camera: when to run the full tiled search, and which regions to search between. A
 * lesson's trainees sit still, so the tiles (70 % of a frame's CPU at 1080p) need not look
 * everywhere on every frame: every `fullEvery`th frame, and whenever the camera's last analysed
 * frame is missing, old (a gap, a new segment after one) or from later (a re-scan), the whole
 * search runs; between, the thread looks at the whole frame and at the regions around the small
 * faces of the camera's recent frames (those the whole-frame pass cannot be trusted to find).
 * A region whose face a focus frame did not find stays for `holdFrames` frames; a full search
 * replaces the list with what it found (kept regions of people who left would cost cells and
 * make the next focus frame look like a changed scene).
 * Pure: time comes in as arguments. With several analysis threads, frames are planned before
 * the previous ones come back; the planner then works from the last outcome it has (older
 * outcomes arriving late are ignored), which at worst costs a full search more.
 */
export class FocusPlanner {
  private cameras = new Map<string, Camera>();
  private readonly focusBelow: number;
  private readonly holdFrames: number;

  constructor(private o: FocusOptions) {
    this.focusBelow = o.focusBelow ?? 130;
    this.holdFrames = o.holdFrames ?? 2;
  }

  plan(camera: string, at: number): FramePlan {
    let c = this.cameras.get(camera);
    if (!c) this.cameras.set(camera, (c = { sinceFull: 0, whole: [], focus: [] }));
    const stale = c.observedAt === undefined || at < c.observedAt || at - c.observedAt > 2.5 * this.o.sampleEveryMs;
    if (this.o.fullEvery <= 1 || stale || c.sinceFull + 1 >= this.o.fullEvery) {
      c.sinceFull = 0;
      return { full: true };
    }
    c.sinceFull++;
    return { full: false, focus: c.focus.map((f) => ({ ...f.box })), previous: c.whole.map((b) => ({ ...b })) };
  }

  /** The outcome of the frame at `at`, planned as `planned`. */
  observe(camera: string, at: number, planned: FramePlan, r: FrameOutcome): void {
    let c = this.cameras.get(camera);
    if (!c) this.cameras.set(camera, (c = { sinceFull: 0, whole: [], focus: [] }));
    if (c.observedAt !== undefined && at < c.observedAt) return; // an older frame, back late from another thread
    // a full search the thread ran on its own (the scene had changed) restarts the count
    if (r.full && !planned.full) c.sinceFull = 0;
    c.observedAt = at;
    c.whole = r.whole.map((b) => ({ ...b }));
    const needs = r.faces.filter((f) => f.box.width < this.focusBelow || !r.whole.some((w) => iou(w, f.box) >= 0.3)).map((f) => f.box);
    // a full search looked everywhere: its faces are the focus from now on (what it did not
    // find is gone, or back at the next full search); a focus frame holds what it missed
    if (r.full) {
      c.focus = needs.map((b) => ({ box: { ...b }, missed: 0 }));
      return;
    }
    const taken = new Set<number>();
    for (const e of c.focus) {
      let best = -1;
      let bestIou = 0.3;
      needs.forEach((b, i) => {
        const v = iou(e.box, b);
        if (!taken.has(i) && v >= bestIou) [best, bestIou] = [i, v];
      });
      if (best >= 0) {
        taken.add(best);
        e.box = { ...needs[best]! };
        e.missed = 0;
      } else e.missed++;
    }
    c.focus = c.focus.filter((e) => e.missed <= this.holdFrames);
    needs.forEach((b, i) => {
      if (!taken.has(i)) c.focus.push({ box: { ...b }, missed: 0 });
    });
  }

  /** Forget a camera (its tracks were reset): its next frame gets the full search. */
  forget(camera: string): void {
    this.cameras.delete(camera);
  }
}
