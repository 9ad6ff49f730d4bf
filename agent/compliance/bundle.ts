import { z } from 'zod';
import { InputError, zodIssues, type InputIssue } from '../core/errors.js';
import { formatIso, parseIsoStrict } from '../core/time.js';
import { LESSON_KINDS, type Evidence } from './evidence.js';

/**
 * The evidence bundle (docs/design.md §3): the file `export-evidence` writes and `evaluate` reads.
 * Parsing is strict and lists every problem with its JSON path; nothing half-valid reaches the
 * engine, because a verdict computed on misread evidence is worse than no verdict.
 */
const timestamp = z.string({ error: 'expected an ISO 8601 timestamp string' }).refine((s) => parseIsoStrict(s) !== undefined, {
  message: 'not an ISO 8601 timestamp with an offset or Z',
});
const id = z.string({ error: 'expected a string id' }).min(1, 'empty id');

const traineeSchema = z.union([
  id,
  z.object({
    id,
    previousProject: z.object({ assessedAt: timestamp.nullable() }).optional(),
  }),
]);

export const bundleSchema = z.object({
  profile: z.string().optional(),
  class: z.object({
    id,
    trainees: z.array(traineeSchema),
    teachers: z.array(z.object({ id, certified: z.boolean({ error: 'expected true or false' }) })),
    workstations: z.number().int().min(0).optional(),
    satisfaction: z.number().min(0).max(1).optional(),
  }),
  lessons: z.array(
    z.object({
      id,
      kind: z.enum(LESSON_KINDS as [string, ...string[]], { error: `unknown lesson kind (expected ${LESSON_KINDS.join(', ')})` }),
      start: timestamp,
      end: timestamp,
      cameras: z.array(id).optional(),
      makeUp: z.boolean().optional(),
    }),
  ),
  recordings: z.array(z.object({ camera: id, start: timestamp, end: timestamp })).default([]),
  sightings: z.array(z.object({ trainee: id, camera: id, at: timestamp })).default([]),
  checkins: z.array(z.object({ trainee: id, terminal: id, at: timestamp })).default([]),
});

export type Bundle = z.input<typeof bundleSchema>;

function duplicates(ids: string[], prefix: string, issues: InputIssue[]) {
  const seen = new Map<string, number>();
  ids.forEach((v, i) => {
    const first = seen.get(v);
    if (first !== undefined) issues.push({ path: `${prefix}[${i}].id`, message: `duplicate id "${v}" (first at ${prefix}[${first}])` });
    else seen.set(v, i);
  });
}

/** Parse and check a bundle; throws InputError listing every problem by path. */
export function parseBundle(doc: unknown, source = 'bundle'): Evidence {
  const r = bundleSchema.safeParse(doc);
  if (!r.success) throw new InputError(source, zodIssues(r.error));
  const b = r.data;
  const issues: InputIssue[] = [];
  const ms = (s: string) => parseIsoStrict(s)!;

  const trainees = b.class.trainees.map((t) =>
    typeof t === 'string'
      ? { id: t }
      : {
          id: t.id,
          ...(t.previousProject ? { previousProject: { assessedAt: t.previousProject.assessedAt === null ? null : ms(t.previousProject.assessedAt) } } : {}),
        },
  );
  duplicates(
    trainees.map((t) => t.id),
    'class.trainees',
    issues,
  );
  duplicates(
    b.class.teachers.map((t) => t.id),
    'class.teachers',
    issues,
  );
  duplicates(
    b.lessons.map((l) => l.id),
    'lessons',
    issues,
  );

  b.lessons.forEach((l, i) => {
    if (ms(l.end) <= ms(l.start)) issues.push({ path: `lessons[${i}].end`, message: `end ${l.end} is not after start ${l.start}` });
  });
  b.recordings.forEach((rec, i) => {
    if (ms(rec.end) < ms(rec.start)) issues.push({ path: `recordings[${i}].end`, message: `end ${rec.end} is before start ${rec.start}` });
  });
  const known = new Set(trainees.map((t) => t.id));
  b.sightings.forEach((s, i) => {
    if (!known.has(s.trainee)) issues.push({ path: `sightings[${i}].trainee`, message: `unknown trainee "${s.trainee}" (not in class.trainees)` });
  });
  b.checkins.forEach((c, i) => {
    if (!known.has(c.trainee)) issues.push({ path: `checkins[${i}].trainee`, message: `unknown trainee "${c.trainee}" (not in class.trainees)` });
  });
  if (issues.length) throw new InputError(source, issues);

  return {
    profile: b.profile,
    class: {
      id: b.class.id,
      trainees,
      teachers: b.class.teachers,
      ...(b.class.workstations !== undefined ? { workstations: b.class.workstations } : {}),
      ...(b.class.satisfaction !== undefined ? { satisfaction: b.class.satisfaction } : {}),
    },
    lessons: b.lessons.map((l) => ({
      id: l.id,
      kind: l.kind as Evidence['lessons'][number]['kind'],
      start: ms(l.start),
      end: ms(l.end),
      cameras: l.cameras ?? [],
      makeUp: l.makeUp ?? false,
    })),
    recordings: b.recordings.map((x) => ({ camera: x.camera, start: ms(x.start), end: ms(x.end) })),
    sightings: b.sightings.map((x) => ({ trainee: x.trainee, camera: x.camera, at: ms(x.at) })),
    checkins: b.checkins.map((x) => ({ trainee: x.trainee, terminal: x.terminal, at: ms(x.at) })),
  };
}

/** Parse bundle text: JSON syntax errors are reported with their position, as exit-2 input errors. */
export function parseBundleText(text: string, source = 'bundle'): Evidence {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(source, [{ path: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  return parseBundle(doc, source);
}

/** The inverse of parseBundle: engine evidence → bundle JSON (timestamps in the given zone). */
export function toBundle(e: Evidence, tz: string): Bundle {
  const iso = (t: number) => formatIso(t, tz);
  return {
    ...(e.profile ? { profile: e.profile } : {}),
    class: {
      id: e.class.id,
      trainees: e.class.trainees.map((t) =>
        t.previousProject ? { id: t.id, previousProject: { assessedAt: t.previousProject.assessedAt === null ? null : iso(t.previousProject.assessedAt) } } : { id: t.id },
      ),
      teachers: e.class.teachers,
      ...(e.class.workstations !== undefined ? { workstations: e.class.workstations } : {}),
      ...(e.class.satisfaction !== undefined ? { satisfaction: e.class.satisfaction } : {}),
    },
    lessons: e.lessons.map((l) => ({ id: l.id, kind: l.kind, start: iso(l.start), end: iso(l.end), cameras: l.cameras, makeUp: l.makeUp })),
    recordings: e.recordings.map((r) => ({ camera: r.camera, start: iso(r.start), end: iso(r.end) })),
    sightings: e.sightings.map((s) => ({ trainee: s.trainee, camera: s.camera, at: iso(s.at) })),
    checkins: e.checkins.map((c) => ({ trainee: c.trainee, terminal: c.terminal, at: iso(c.at) })),
  };
}
