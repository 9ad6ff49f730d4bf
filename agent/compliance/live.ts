import type { Profile } from '../config/profile.js';
import type { Lesson, Recording, Sighting } from './evidence.js';
import { clip, complement, covers, longestContinuous, measure, union, type Interval } from './intervals.js';

/**
 * Live judgement of a lesson that is on: is it still fine, at risk (something must be done now,
 * and it can still be saved), or lost (no action can save it any more)? Pure: the clock is an
 * argument. docs/design.md §1: "a camera down at minute 5 of a practical hour is fixable; at minute
 * 44 it is not" — this file is that sentence.
 *
 * The recorder indexes a segment only when it closes, so the minute being recorded now is not
 * in the store yet. `live` says which cameras are recording right now and since when; that
 * stretch [since, now) is counted as provisionally recorded.
 */
export type LiveState = 'ok' | 'at-risk' | 'lost';

export type LiveReason =
  /** practical: no camera records now, 15 continuous minutes still possible if one restarts by `deadline` */
  | 'camera-down'
  /** practical: even recording from now to the end cannot give the minimum continuous stretch */
  | 'continuous-unreachable'
  /** theory / make-up: uncovered time already above the tolerance */
  | 'recording-gap'
  /** theory / make-up: nothing records now; the tolerance left runs out at `deadline` */
  | 'recording-stopped'
  /** trainees not yet seen on recorded video while little of the lesson is left */
  | 'trainees-unseen';

export interface LiveInput {
  lesson: Lesson;
  /** recordings (indexed segments) of the lesson's cameras, at least those overlapping the lesson */
  recordings: readonly Recording[];
  /** cameras recording right now → since when (ms) */
  live: ReadonlyMap<string, number>;
  sightings: readonly Sighting[];
  /** trainees expected on camera (the roster) */
  trainees: readonly string[];
  now: number;
}

export interface LiveOptions {
  /** gaps ≤ this do not break continuity (profile continuityToleranceSeconds) */
  continuityToleranceMs: number;
  /** practical-continuous-video minimum */
  practicalMinMs: number;
  /** theory-recording tolerance */
  theoryToleranceMs: number;
  /** makeup-recording tolerance */
  makeupToleranceMs: number;
  /** warn about unseen trainees once this little of the lesson is left */
  unseenWarnRemainingMs: number;
}

export function liveOptions(profile: Profile, unseenWarnRemainingMs = 10 * 60_000): LiveOptions {
  const r = profile.rules;
  return {
    continuityToleranceMs: profile.continuityToleranceSeconds * 1000,
    practicalMinMs: r['practical-continuous-video'].minMinutes * 60_000,
    theoryToleranceMs: r['theory-recording'].toleranceSeconds * 1000,
    makeupToleranceMs: r['makeup-recording'].toleranceSeconds * 1000,
    unseenWarnRemainingMs,
  };
}

export interface LiveStatus {
  phase: 'upcoming' | 'on' | 'over';
  state: LiveState;
  reasons: LiveReason[];
  /** recording state alone (trainees aside) */
  recording: LiveState;
  /** longest continuous stretch so far on one camera, provisional minute included */
  longestMs: number;
  /** best continuous stretch still reachable on one camera if it records to the end */
  potentialMs: number;
  /** lesson time so far not covered by any of its cameras (theory) */
  uncoveredMs: number;
  /** the last instant at which recording must be back for the lesson to be saved */
  deadline?: number;
  unseen: string[];
  liveCameras: string[];
}

const PSEUDO = '\u0000any';

/** Judge one lesson at `now`. */
export function liveRisk(input: LiveInput, opts: LiveOptions): LiveStatus {
  const { lesson, now } = input;
  const phase = now < lesson.start ? 'upcoming' : now >= lesson.end ? 'over' : 'on';
  const cams = lesson.cameras.length ? lesson.cameras : [...new Set([...input.recordings.map((r) => r.camera), ...input.live.keys()])];
  const liveCameras = cams.filter((c) => input.live.has(c));
  const base: LiveStatus = { phase, state: 'ok', reasons: [], recording: 'ok', longestMs: 0, potentialMs: 0, uncoveredMs: 0, unseen: [], liveCameras };
  if (lesson.kind === 'online' || phase === 'upcoming') return base;

  const soFar: Interval = { start: lesson.start, end: Math.min(now, lesson.end) };
  const rest: Interval = { start: Math.min(now, lesson.end), end: lesson.end };
  const remaining = rest.end - rest.start;
  const recOf = (cam: string): Interval[] => {
    const own: Interval[] = input.recordings.filter((r) => r.camera === cam).map((r) => ({ start: r.start, end: r.end }));
    const since = input.live.get(cam);
    if (since !== undefined && since < now) own.push({ start: since, end: now });
    return own;
  };

  const reasons: LiveReason[] = [];
  let recording: LiveState = 'ok';
  let deadline: number | undefined;
  let longestMs = 0;
  let potentialMs = 0;
  let uncoveredMs = 0;

  if (lesson.kind === 'practical' && !lesson.makeUp) {
    const tol = opts.continuityToleranceMs;
    let livePotential = 0;
    for (const cam of cams.length ? cams : [PSEUDO]) {
      const rec = cam === PSEUDO ? [] : recOf(cam);
      longestMs = Math.max(longestMs, longestContinuous(rec, soFar, tol));
      // what this camera gives if it records from now to the end (joining its stretch when live)
      const p = longestContinuous([...rec, rest], lesson, tol);
      potentialMs = Math.max(potentialMs, p);
      if (input.live.has(cam)) livePotential = Math.max(livePotential, p);
    }
    if (longestMs >= opts.practicalMinMs || livePotential >= opts.practicalMinMs) recording = 'ok';
    else if (phase === 'on' && potentialMs >= opts.practicalMinMs) {
      recording = 'at-risk';
      reasons.push('camera-down');
      deadline = lesson.end - opts.practicalMinMs;
    } else {
      recording = 'lost';
      reasons.push('continuous-unreachable');
    }
  } else {
    // theory, and make-up lessons of any kind: judged on full coverage
    const tolerance = lesson.makeUp ? opts.makeupToleranceMs : opts.theoryToleranceMs;
    const recorded = union(cams.flatMap(recOf));
    uncoveredMs = measure(complement(recorded, soFar));
    longestMs = measure(clip(recorded, soFar));
    if (uncoveredMs > tolerance) {
      recording = 'lost';
      reasons.push('recording-gap');
    } else if (phase === 'on' && !liveCameras.length) {
      recording = 'at-risk';
      reasons.push('recording-stopped');
      deadline = now + (tolerance - uncoveredMs);
    }
  }

  // trainees: who has been seen on recorded video of this lesson so far (make-up lessons concern
  // only some trainees and do not count on camera, so they are not watched)
  let unseen: string[] = [];
  let traineeState: LiveState = 'ok';
  if (!lesson.makeUp && input.trainees.length) {
    const camSet = lesson.cameras.length ? new Set(lesson.cameras) : undefined;
    const recByCam = new Map<string, Interval[]>();
    const seen = new Set<string>();
    for (const s of input.sightings) {
      if (s.at < soFar.start || s.at >= soFar.end) continue;
      if (camSet && !camSet.has(s.camera)) continue;
      let rec = recByCam.get(s.camera);
      if (!rec) recByCam.set(s.camera, (rec = input.recordings.filter((r) => r.camera === s.camera)));
      if (covers(rec, s.at)) seen.add(s.trainee);
    }
    unseen = input.trainees.filter((t) => !seen.has(t));
    if (phase === 'on' && unseen.length && remaining <= opts.unseenWarnRemainingMs) {
      traineeState = 'at-risk';
      reasons.push('trainees-unseen');
    }
  }

  const order: LiveState[] = ['ok', 'at-risk', 'lost'];
  const state = order[Math.max(order.indexOf(recording), order.indexOf(traineeState))];
  return { ...base, state, reasons, recording, longestMs, potentialMs, uncoveredMs, ...(deadline !== undefined ? { deadline } : {}), unseen };
}

/**
 * Which cameras record now, and since when. A camera the recorder reported 'recording' is live
 * since that report; without any report (no recorder status yet), a camera whose last segment
 * closed within `freshMs` and has no open gap is taken as live since its last segment's end
 * (the segment in progress follows it).
 */
export function liveCameras(args: {
  cameras: readonly string[];
  status: ReadonlyMap<string, { state: string; since: number }>;
  lastSegmentEnd: ReadonlyMap<string, number>;
  openGaps: ReadonlySet<string>;
  now: number;
  freshMs: number;
}): Map<string, number> {
  const out = new Map<string, number>();
  for (const cam of args.cameras) {
    const st = args.status.get(cam);
    if (st) {
      if (st.state === 'recording') out.set(cam, st.since);
      continue;
    }
    if (args.openGaps.has(cam)) continue;
    const last = args.lastSegmentEnd.get(cam);
    if (last !== undefined && args.now - last <= args.freshMs) out.set(cam, last);
  }
  return out;
}
