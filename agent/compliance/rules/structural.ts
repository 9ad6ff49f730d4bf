import type { Profile } from '../../config/profile.js';
import type { Evidence, Finding } from '../evidence.js';
import { finding, pct } from '../finding.js';

/** Class-level rules of 60号 二、机构管理 and 四、满意度: size, teacher and workstation ratios, satisfaction. */
export function structuralRules(e: Evidence, p: Profile): Finding[] {
  const out: Finding[] = [];
  const r = p.rules;
  const n = e.class.trainees.length;

  if (r['class-size'].enabled && n > r['class-size'].max) {
    out.push(finding(p, 'class-size', {}, `${n} trainees > ${r['class-size'].max} per class`, `参训学员${n}人，超过每班${r['class-size'].max}人上限`));
  }
  const teachers = e.class.teachers.length;
  const perTeacher = r['teacher-ratio'].traineesPerTeacher;
  if (r['teacher-ratio'].enabled && n > perTeacher * teachers) {
    out.push(finding(p, 'teacher-ratio', {}, `${n} trainees for ${teachers} teacher(s): ratio below 1:${perTeacher}`, `${teachers}名教师带${n}名学员，师生比低于1∶${perTeacher}`));
  }
  const ws = e.class.workstations;
  const perWs = r['workstation-ratio'].traineesPerWorkstation;
  if (r['workstation-ratio'].enabled && ws !== undefined && n > perWs * ws) {
    out.push(finding(p, 'workstation-ratio', {}, `${n} trainees for ${ws} workstation(s): ratio below 1:${perWs}`, `${ws}个工位对应${n}名学员，工位比低于1∶${perWs}`));
  }
  const sat = e.class.satisfaction;
  if (r.satisfaction.enabled && sat !== undefined && sat < r.satisfaction.min) {
    out.push(finding(p, 'satisfaction', {}, `satisfaction ${pct(sat)} < ${pct(r.satisfaction.min)}: final assessment suspended`, `满意度${pct(sat)}低于${pct(r.satisfaction.min)}，暂停结业考核`));
  }
  return out;
}
