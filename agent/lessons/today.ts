import { clip, measure, union } from '../compliance/intervals.js';
import { liveCameras, liveOptions, liveRisk, type LiveReason, type LiveState } from '../compliance/live.js';
import type { Verdict } from '../compliance/evidence.js';
import { loadProfile, type Profile } from '../config/profile.js';
import type { Config } from '../config/schema.js';
import { fromWallClock, wallClock } from '../core/time.js';
import { AlarmRepo, type AlarmRow } from '../store/alarms.js';
import { ClassRepo } from '../store/classes.js';
import { LiveRepo } from '../store/live.js';
import { Outbox } from '../store/outbox.js';
import type { Store } from '../store/store.js';

export interface LessonSummary {
  classId: string;
  lessonId: string;
  kind: string;
  makeUp: boolean;
  start: number;
  end: number;
  phase: 'upcoming' | 'on' | 'over';
  recordedMs: number;
  longestMs: number;
  seen: number;
  trainees: number;
  state: LiveState;
  reasons: LiveReason[];
  /** the saved lesson verdict: true no violation of this lesson, false violations, null not yet */
  verdict: boolean | null;
}

export interface Today {
  day: { start: number; end: number };
  lessons: LessonSummary[];
  alarms: AlarmRow[];
  backlog: { count: number; oldestMs: number | null };
}

/**
 * Today's lessons in this box's room as the store sees them: what `classroom-agent status`
 * prints. The CLI does not hear the recorder's status, so "recording now" is inferred from the
 * newest segment and open gaps (compliance/live liveCameras).
 */
export function today(store: Store, cfg: Config, now: number): Today {
  const w = wallClock(now, cfg.box.timezone);
  const start = fromWallClock({ year: w.year, month: w.month, day: w.day }, cfg.box.timezone);
  const end = start + 86_400_000;
  const classes = new ClassRepo(store);
  const repo = new LiveRepo(store);
  const profiles = new Map<string, Profile>();
  const profileOf = (classId: string) => {
    const id = classes.get(classId)?.profile ?? cfg.profile;
    if (!profiles.has(id)) profiles.set(id, loadProfile(id));
    return profiles.get(id)!;
  };
  const openGaps = repo.openGaps();
  const allCams = [...new Set([...cfg.cameras.map((c) => c.id), ...repo.knownCameras(start - 86_400_000)])];
  const lessons = classes
    .lessonsBetween(start, end)
    .filter((l) => (l.room ?? repo.classRoom(l.classId) ?? cfg.box.room) === cfg.box.room)
    .map((l): LessonSummary => {
      const profile = profileOf(l.classId);
      const upto = Math.min(now, l.end);
      const recordings = repo.recordings(l.cameras, l.start - 60_000, Math.max(upto, l.start));
      const cams = l.cameras.length ? l.cameras : allCams;
      const lastEnds = repo.lastSegmentEnds(cams);
      const live = liveCameras({ cameras: cams, status: new Map(), lastSegmentEnd: lastEnds, openGaps, now, freshMs: cfg.recorder.segmentSeconds * 1500 + 10_000 });
      const trainees = repo.trainees(l.classId);
      const s = liveRisk({ lesson: l, recordings, live, sightings: repo.sightings(l.classId, l.start, upto + 1), trainees, now }, liveOptions(profile, cfg.monitor.unseenWarnMinutes * 60_000));
      const body = repo.latestVerdict(l.classId, l.id);
      const verdict = body === undefined ? null : !(JSON.parse(body) as Verdict).violations.some((f) => f.lesson === l.id);
      const recordedMs = upto > l.start ? measure(clip(union(recordings), { start: l.start, end: upto })) : 0;
      return {
        classId: l.classId,
        lessonId: l.id,
        kind: l.kind,
        makeUp: l.makeUp,
        start: l.start,
        end: l.end,
        phase: s.phase,
        recordedMs,
        // the longest stretch counts the holes the continuity rule tolerates and may run to the
        // live clock: shown, it is never more than what is recorded (issue #16)
        longestMs: Math.min(s.longestMs, recordedMs),
        seen: trainees.length - s.unseen.length,
        trainees: trainees.length,
        state: s.state,
        reasons: s.reasons,
        verdict,
      };
    });
  return { day: { start, end }, lessons, alarms: new AlarmRepo(store).open(), backlog: new Outbox(store).backlog() };
}
