import type { Profile } from '../../config/profile.js';
import type { Finding } from '../evidence.js';
import type { LessonCoverage } from '../coverage.js';
import { finding } from '../finding.js';
import { formatDuration } from '../../core/time.js';

/** A make-up lesson counts only when fully recorded (same test as theory). */
export function makeUpFullyRecorded(c: LessonCoverage, p: Profile): boolean {
  return c.uncoveredMs <= p.rules['makeup-recording'].toleranceSeconds * 1000;
}

/**
 * Video rules of 60号 四、过程监管: theory recorded in full, ≥ 15 continuous minutes per practical
 * lesson. A make-up lesson is judged only by makeup-recording (a warning).
 */
export function recordingRules(coverage: LessonCoverage[], p: Profile): { violations: Finding[]; warnings: Finding[] } {
  const violations: Finding[] = [];
  const warnings: Finding[] = [];
  const r = p.rules;
  for (const c of coverage) {
    const l = c.lesson;
    if (l.kind === 'online') continue;
    const uncovered = c.uncoveredMs / 1000;
    if (l.makeUp) {
      if (r['makeup-recording'].enabled && !makeUpFullyRecorded(c, p)) {
        warnings.push(
          finding(
            p,
            'makeup-recording',
            { lesson: l.id },
            `make-up lesson not fully recorded: ${formatDuration(uncovered)} without video; it does not count`,
            `补课未全程录像：${formatDuration(uncovered, 'zh')}无录像，不计入到课`,
          ),
        );
      }
      continue;
    }
    if (l.kind === 'theory' && r['theory-recording'].enabled && uncovered > r['theory-recording'].toleranceSeconds) {
      violations.push(
        finding(
          p,
          'theory-recording',
          { lesson: l.id },
          `theory lesson not recorded in full: ${formatDuration(uncovered)} without video (tolerance ${formatDuration(r['theory-recording'].toleranceSeconds)})`,
          `理论课未全程录像：${formatDuration(uncovered, 'zh')}无录像（容差${formatDuration(r['theory-recording'].toleranceSeconds, 'zh')}）`,
        ),
      );
    }
    const minS = r['practical-continuous-video'].minMinutes * 60;
    if (l.kind === 'practical' && r['practical-continuous-video'].enabled && c.longestContinuousMs / 1000 < minS) {
      violations.push(
        finding(
          p,
          'practical-continuous-video',
          { lesson: l.id },
          `longest continuous video ${formatDuration(c.longestContinuousMs / 1000)} < ${formatDuration(minS)}`,
          `最长连续录像${formatDuration(c.longestContinuousMs / 1000, 'zh')}，不足${formatDuration(minS, 'zh')}`,
        ),
      );
    }
  }
  return { violations, warnings };
}
