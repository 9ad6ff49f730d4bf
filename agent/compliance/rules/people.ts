import type { Profile } from '../../config/profile.js';
import type { Evidence, Finding } from '../evidence.js';
import type { LessonCoverage } from '../coverage.js';
import { finding } from '../finding.js';
import { addCalendarMonths, formatLocal } from '../../core/time.js';
import { makeUpFullyRecorded } from './recording.js';

/** Lessons in which each trainee is on recorded video (online never; make-ups only when fully recorded). */
export function lessonsOnCamera(e: Evidence, coverage: LessonCoverage[], p: Profile): Map<string, number> {
  const count = new Map<string, number>(e.class.trainees.map((t) => [t.id, 0]));
  for (const c of coverage) {
    if (c.lesson.kind === 'online') continue;
    if (c.lesson.makeUp && !makeUpFullyRecorded(c, p)) continue;
    for (const t of c.seen) count.set(t, (count.get(t) ?? 0) + 1);
  }
  return count;
}

/** Rules about people: trainees on camera in ≥ N lessons, re-enrollment cooldown, teachers certified. */
export function peopleRules(e: Evidence, onCamera: Map<string, number>, p: Profile): Finding[] {
  const out: Finding[] = [];
  const r = p.rules;
  const minLessons = r['trainee-on-camera'].minLessons;
  if (r['trainee-on-camera'].enabled) {
    for (const t of e.class.trainees) {
      const n = onCamera.get(t.id) ?? 0;
      if (n < minLessons) {
        out.push(finding(p, 'trainee-on-camera', { trainee: t.id }, `seen on recorded video in ${n} lesson(s) < ${minLessons}`, `录像中仅在${n}个课时出现，不足${minLessons}个课时`));
      }
    }
  }
  const firstLesson = e.lessons.length ? Math.min(...e.lessons.map((l) => l.start)) : undefined;
  if (r['reenroll-cooldown'].enabled && firstLesson !== undefined) {
    const months = r['reenroll-cooldown'].months;
    for (const t of e.class.trainees) {
      if (!t.previousProject) continue;
      const at = t.previousProject.assessedAt;
      if (at === null) {
        out.push(finding(p, 'reenroll-cooldown', { trainee: t.id }, 'previous subsidized project was never assessed', '上一个培训项目未考核'));
      } else if (firstLesson < addCalendarMonths(at, months, p.timezone)) {
        out.push(
          finding(
            p,
            'reenroll-cooldown',
            { trainee: t.id },
            `previous project assessed ${formatLocal(at, p.timezone)}, less than ${months} month(s) before the first lesson ${formatLocal(firstLesson, p.timezone)}`,
            `上一个项目考核于${formatLocal(at, p.timezone)}，距本班首课${formatLocal(firstLesson, p.timezone)}不满${months}个月`,
          ),
        );
      }
    }
  }
  if (r['teacher-certified'].enabled) {
    for (const t of e.class.teachers) {
      if (!t.certified) out.push(finding(p, 'teacher-certified', { teacher: t.id }, 'teacher not in the provincial teacher pool with real-name verification', '授课教师未纳入省级师资库或未实名认证'));
    }
  }
  return out;
}
