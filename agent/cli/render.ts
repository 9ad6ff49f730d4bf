import { RULE_ID_ALIASES } from '../config/legacy.js';
import type { Finding, Verdict } from '../compliance/evidence.js';
import { formatDuration } from '../core/time.js';
import { t, type Lang } from './i18n.js';

const RULE_NAMES: Record<string, [string, string]> = {
  'class-size': ['班级人数', 'class size'],
  'teacher-ratio': ['师生比', 'teacher ratio'],
  'workstation-ratio': ['工位比', 'workstation ratio'],
  'teacher-certified': ['教师资质', 'teacher certified'],
  'lesson-length': ['课时时长', 'lesson length'],
  'practical-share': ['实操占比', 'practical share'],
  'online-share': ['线上占比', 'online share'],
  'theory-recording': ['理论课全程录像', 'theory recorded in full'],
  'practical-continuous-video': ['实操连续录像', 'practical continuous video'],
  'trainee-on-camera': ['学员出镜课时', 'trainee on camera'],
  'makeup-recording': ['补课全程录像', 'make-up recorded'],
  satisfaction: ['满意度', 'satisfaction'],
  'reenroll-cooldown': ['再次参训间隔', 're-enrollment cooldown'],
};

function findingLine(f: Finding, lang: Lang): string {
  // verdicts stored before a rule's rename carry its old id
  const name = RULE_NAMES[RULE_ID_ALIASES[f.rule] ?? f.rule] ?? [f.rule, f.rule];
  const subj = f.lesson
    ? t(lang, `课时 ${f.lesson}`, `lesson ${f.lesson}`)
    : f.trainee
      ? t(lang, `学员 ${f.trainee}`, `trainee ${f.trainee}`)
      : f.teacher
        ? t(lang, `教师 ${f.teacher}`, `teacher ${f.teacher}`)
        : t(lang, '班级', 'class');
  return `  - [${f.rule}] ${t(lang, name[0], name[1])} · ${subj}: ${lang === 'zh' ? f.messageZh : f.message}`;
}

/** The verdict as a readable report, in Chinese or English. */
export function renderVerdict(v: Verdict, lang: Lang): string {
  const out: string[] = [];
  out.push(t(lang, `班次 ${v.classId}（规则 ${v.profile}）`, `Class ${v.classId} (profile ${v.profile})`));
  out.push(
    v.eligible
      ? t(lang, '结论：符合补贴条件 ✔', 'Verdict: eligible for subsidy ✔')
      : t(lang, `结论：不符合补贴条件 ✘（${v.violations.length} 项违规）`, `Verdict: NOT eligible ✘ (${v.violations.length} violation(s))`),
  );
  if (v.violations.length) {
    out.push('', t(lang, '违规：', 'Violations:'));
    for (const f of v.violations) out.push(findingLine(f, lang));
  }
  if (v.warnings.length) {
    out.push('', t(lang, '提醒：', 'Warnings:'));
    for (const f of v.warnings) out.push(findingLine(f, lang));
  }
  out.push('', t(lang, '课时：', 'Lessons:'));
  const kind = (k: string) => (lang === 'zh' ? ({ theory: '理论', practical: '实操', online: '线上' }[k] ?? k) : k);
  for (const l of v.lessons) {
    out.push(
      `  ${l.id.padEnd(6)} ${kind(l.kind).padEnd(lang === 'zh' ? 3 : 10)}${l.makeUp ? t(lang, '(补课) ', '(make-up) ') : ''}${l.start.slice(0, 16).replace('T', ' ')}  ` +
        t(
          lang,
          `录像 ${formatDuration(l.recordedSeconds, 'zh')}，缺 ${formatDuration(l.uncoveredSeconds, 'zh')}，最长连续 ${formatDuration(l.longestContinuousSeconds, 'zh')}，出镜 ${l.traineesOnCamera.length} 人`,
          `recorded ${formatDuration(l.recordedSeconds)}, missing ${formatDuration(l.uncoveredSeconds)}, longest ${formatDuration(l.longestContinuousSeconds)}, ${l.traineesOnCamera.length} on camera`,
        ),
    );
  }
  out.push('', t(lang, `开班人数（首日实到）：${v.openingHeadcount}`, `Opening headcount (checked in on day one): ${v.openingHeadcount}`));
  out.push(t(lang, '学员（出镜课时 / 签到次数）：', 'Trainees (lessons on camera / check-ins):'));
  out.push('  ' + v.trainees.map((x) => `${x.id} ${x.lessonsOnCamera}/${x.checkIns}`).join('  '));
  if (v.checkedInNeverSeen.length) {
    out.push(t(lang, `已签到但从未在录像中出现：${v.checkedInNeverSeen.join(', ')}`, `Checked in but never seen on recorded video: ${v.checkedInNeverSeen.join(', ')}`));
  }
  return out.join('\n');
}
