import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { InputError, zodIssues, type InputIssue } from '../core/errors.js';
import { DEFAULT_TZ, formatIso, parseLocalOrIso } from '../core/time.js';
import { LESSON_KINDS, type Lesson, type LessonKind } from '../compliance/evidence.js';

/**
 * A class file (班次): roster, teachers, workstations and schedule, in YAML or JSON, as a school
 * writes it. Times may be local ("2025-10-08 08:00", read in the class's time zone) or ISO with
 * an offset. A schedule entry is one lesson (课时) or a block that expands into several:
 *   - { kind: practical, start: "2025-10-08 08:00", lessons: 4, minutes: 45, breakMinutes: 10 }
 */
const kind = z.enum(LESSON_KINDS as [LessonKind, ...LessonKind[]], { error: `unknown lesson kind (expected ${LESSON_KINDS.join(', ')})` });
const timeStr = z.string({ error: 'expected a time: "YYYY-MM-DD HH:MM" or ISO 8601' });

const lessonEntry = z
  .object({ id: z.string().min(1).optional(), kind, start: timeStr, end: timeStr, cameras: z.array(z.string()).optional(), makeUp: z.boolean().optional(), room: z.string().optional() })
  .strict();
const blockEntry = z
  .object({
    idPrefix: z.string().optional(),
    kind,
    start: timeStr,
    lessons: z.number().int().positive().max(20),
    minutes: z.number().positive().max(240),
    breakMinutes: z.number().min(0).max(240).default(0),
    cameras: z.array(z.string()).optional(),
    makeUp: z.boolean().optional(),
    room: z.string().optional(),
  })
  .strict();

export const classFileSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().optional(),
    profile: z.string().optional(),
    room: z.string().optional(),
    timezone: z.string().default(DEFAULT_TZ),
    workstations: z.number().int().min(0).optional(),
    satisfaction: z.number().min(0).max(1).optional(),
    trainees: z.array(
      z.union([
        z.string().min(1),
        z
          .object({
            id: z.string().min(1),
            name: z.string().optional(),
            /** the terminals' ids for this trainee (ZKTeco PIN, Hikvision employeeNo) */
            terminalIds: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
            previousProject: z.object({ assessedAt: timeStr.nullable() }).strict().optional(),
          })
          .strict(),
      ]),
    ),
    teachers: z.array(z.object({ id: z.string().min(1), name: z.string().optional(), certified: z.boolean() }).strict()),
    schedule: z.array(z.union([lessonEntry, blockEntry])),
  })
  .strict();

export interface ClassPlan {
  id: string;
  name?: string;
  profile?: string;
  room?: string;
  timezone: string;
  workstations?: number;
  satisfaction?: number;
  trainees: Array<{ id: string; name?: string; terminalIds: string[]; previousProject?: { assessedAt: number | null } }>;
  teachers: Array<{ id: string; name?: string; certified: boolean }>;
  lessons: Array<Lesson & { room?: string }>;
}

export function parseClassFile(doc: unknown, source: string): ClassPlan {
  const r = classFileSchema.safeParse(doc);
  if (!r.success) throw new InputError(source, zodIssues(r.error));
  const c = r.data;
  const tz = c.timezone;
  const issues: InputIssue[] = [];
  const time = (s: string, p: string) => {
    const ms = parseLocalOrIso(s, tz);
    if (ms === undefined) issues.push({ path: p, message: `"${s}" is not a time ("YYYY-MM-DD HH:MM" or ISO 8601)` });
    return ms ?? 0;
  };

  const lessons: ClassPlan['lessons'] = [];
  let n = 0;
  const nextId = (prefix = 'L') => `${prefix}${String(++n).padStart(3, '0')}`;
  c.schedule.forEach((e, i) => {
    const where = `schedule[${i}]`;
    const common = { kind: e.kind, cameras: e.cameras ?? [], makeUp: e.makeUp ?? false, ...((e.room ?? c.room) ? { room: e.room ?? c.room } : {}) };
    if ('end' in e) {
      const start = time(e.start, `${where}.start`);
      const end = time(e.end, `${where}.end`);
      if (end <= start && !issues.length) issues.push({ path: `${where}.end`, message: 'end is not after start' });
      lessons.push({ id: e.id ?? nextId(), start, end, ...common });
      if (e.id) n++;
    } else {
      let start = time(e.start, `${where}.start`);
      for (let k = 0; k < e.lessons; k++) {
        const end = start + e.minutes * 60_000;
        lessons.push({ id: nextId(e.idPrefix), start, end, ...common });
        start = end + e.breakMinutes * 60_000;
      }
    }
  });
  const seen = new Map<string, number>();
  lessons.forEach((l, i) => {
    if (seen.has(l.id)) issues.push({ path: `schedule`, message: `duplicate lesson id "${l.id}" (lesson ${i + 1} and ${seen.get(l.id)! + 1})` });
    seen.set(l.id, i);
  });
  const trainees = c.trainees.map((t, i) => {
    if (typeof t === 'string') return { id: t, terminalIds: [] };
    let previousProject: { assessedAt: number | null } | undefined;
    if (t.previousProject) {
      previousProject = { assessedAt: t.previousProject.assessedAt === null ? null : time(t.previousProject.assessedAt, `trainees[${i}].previousProject.assessedAt`) };
    }
    return { id: t.id, ...(t.name ? { name: t.name } : {}), terminalIds: t.terminalIds ?? [], ...(previousProject ? { previousProject } : {}) };
  });
  const dupe = (ids: string[], p: string) => {
    const s = new Set<string>();
    ids.forEach((id, i) => {
      if (s.has(id)) issues.push({ path: `${p}[${i}].id`, message: `duplicate id "${id}"` });
      s.add(id);
    });
  };
  dupe(
    trainees.map((t) => t.id),
    'trainees',
  );
  dupe(
    c.teachers.map((t) => t.id),
    'teachers',
  );
  if (issues.length) throw new InputError(source, issues);
  lessons.sort((a, b) => a.start - b.start);
  return {
    id: c.id,
    ...(c.name ? { name: c.name } : {}),
    ...(c.profile ? { profile: c.profile } : {}),
    ...(c.room ? { room: c.room } : {}),
    timezone: tz,
    ...(c.workstations !== undefined ? { workstations: c.workstations } : {}),
    ...(c.satisfaction !== undefined ? { satisfaction: c.satisfaction } : {}),
    trainees,
    teachers: c.teachers,
    lessons,
  };
}

export function readClassFile(file: string): ClassPlan {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(file, [{ path: '', message: `cannot read: ${(err as Error).message}` }]);
  }
  let doc: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both, with line numbers in its errors
    doc = YAML.parse(text);
  } catch (err) {
    throw new InputError(file, [{ path: '', message: `not valid YAML/JSON: ${(err as Error).message}` }]);
  }
  return parseClassFile(doc, file);
}

export const describeLesson = (l: Lesson, tz: string) => `${l.id} ${l.kind} ${formatIso(l.start, tz)} → ${formatIso(l.end, tz)}`;
