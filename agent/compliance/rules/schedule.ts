import type { Profile } from '../../config/profile.js';
import type { Evidence, Finding } from '../evidence.js';
import { finding, pct } from '../finding.js';
import { formatDuration } from '../../core/time.js';

/** Rules on the timetable itself: lesson length (every lesson), practical and online shares (make-ups not counted). */
export function scheduleRules(e: Evidence, p: Profile): Finding[] {
  const out: Finding[] = [];
  const r = p.rules;
  const minMs = r['lesson-length'].minMinutes * 60_000;
  if (r['lesson-length'].enabled) {
    for (const l of e.lessons) {
      const len = l.end - l.start;
      if (len < minMs) {
        out.push(
          finding(
            p,
            'lesson-length',
            { lesson: l.id },
            `lesson lasts ${formatDuration(len / 1000)} < ${formatDuration(minMs / 1000)}`,
            `课时时长${formatDuration(len / 1000, 'zh')}，低于${formatDuration(minMs / 1000, 'zh')}`,
          ),
        );
      }
    }
  }
  // why: 60号 counts shares over the class's planned 课时; a make-up repeats a lesson already counted.
  const counted = e.lessons.filter((l) => !l.makeUp);
  if (counted.length) {
    const practical = counted.filter((l) => l.kind === 'practical').length / counted.length;
    const online = counted.filter((l) => l.kind === 'online').length / counted.length;
    if (r['practical-share'].enabled && practical < r['practical-share'].min) {
      out.push(
        finding(
          p,
          'practical-share',
          {},
          `practical lessons ${pct(practical)} < ${pct(r['practical-share'].min)} of all lessons`,
          `实操课时占${pct(practical)}，低于总课时的${pct(r['practical-share'].min)}`,
        ),
      );
    }
    if (r['online-share'].enabled && online > r['online-share'].max) {
      out.push(finding(p, 'online-share', {}, `online lessons ${pct(online)} > ${pct(r['online-share'].max)} of all lessons`, `线上课时占${pct(online)}，超过总课时的${pct(r['online-share'].max)}`));
    }
  }
  return out;
}
