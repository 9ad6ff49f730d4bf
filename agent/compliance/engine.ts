import type { Profile } from '../config/profile.js';
import { formatIso, wallClock } from '../core/time.js';
import { lessonCoverage } from './coverage.js';
import type { Evidence, Finding, Verdict } from './evidence.js';
import { lessonsOnCamera, peopleRules } from './rules/people.js';
import { recordingRules } from './rules/recording.js';
import { scheduleRules } from './rules/schedule.js';
import { structuralRules } from './rules/structural.js';

const subjectOf = (f: Finding) => f.lesson ?? f.trainee ?? f.teacher ?? '';
const byRuleThenSubject = (a: Finding, b: Finding) => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : subjectOf(a) < subjectOf(b) ? -1 : subjectOf(a) > subjectOf(b) ? 1 : 0);

/**
 * The compliance engine: evidence and a profile in, verdict out. Pure: no clock, no I/O, so the
 * daemon, the CLI and the provincial system can all recompute the same verdict from a bundle.
 */
export function evaluate(e: Evidence, profile: Profile): Verdict {
  const tz = profile.timezone;
  const coverage = lessonCoverage(e, profile.continuityToleranceSeconds * 1000);
  const onCamera = lessonsOnCamera(e, coverage, profile);
  const rec = recordingRules(coverage, profile);

  const all = [...structuralRules(e, profile), ...scheduleRules(e, profile), ...rec.violations, ...peopleRules(e, onCamera, profile)];
  // why: a rule resting on an unverified profile value is advice, never a lost subsidy (docs/design.md §2)
  const violations = all.filter((f) => !f.advisory).sort(byRuleThenSubject);
  const warnings = [...rec.warnings, ...all.filter((f) => f.advisory)].sort(byRuleThenSubject);

  const checkinsBy = new Map<string, number>();
  for (const c of e.checkins) checkinsBy.set(c.trainee, (checkinsBy.get(c.trainee) ?? 0) + 1);

  let openingHeadcount = 0;
  if (e.lessons.length) {
    const first = wallClock(Math.min(...e.lessons.map((l) => l.start)), tz);
    const sameDay = (t: number) => {
      const w = wallClock(t, tz);
      return w.year === first.year && w.month === first.month && w.day === first.day;
    };
    openingHeadcount = new Set(e.checkins.filter((c) => sameDay(c.at)).map((c) => c.trainee)).size;
  }

  return {
    classId: e.class.id,
    profile: profile.id,
    eligible: violations.length === 0,
    violations,
    warnings,
    lessons: coverage.map((c) => ({
      id: c.lesson.id,
      kind: c.lesson.kind,
      makeUp: c.lesson.makeUp,
      start: formatIso(c.lesson.start, tz),
      end: formatIso(c.lesson.end, tz),
      recordedSeconds: Math.round(c.recordedMs / 1000),
      uncoveredSeconds: Math.round(c.uncoveredMs / 1000),
      longestContinuousSeconds: Math.round(c.longestContinuousMs / 1000),
      traineesOnCamera: [...c.seen].sort(),
    })),
    trainees: e.class.trainees.map((t) => ({ id: t.id, lessonsOnCamera: onCamera.get(t.id) ?? 0, checkIns: checkinsBy.get(t.id) ?? 0 })),
    openingHeadcount,
    checkedInNeverSeen: e.class.trainees.filter((t) => (checkinsBy.get(t.id) ?? 0) > 0 && (onCamera.get(t.id) ?? 0) === 0).map((t) => t.id),
  };
}
