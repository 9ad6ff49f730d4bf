import type { ClassPlan } from '../classes/classfile.js';
import type { Evidence, Lesson, LessonKind } from '../compliance/evidence.js';
import type { Store } from './store.js';
import { Outbox } from './outbox.js';
import { evidenceLog, refOf, type FactTable } from './evidence-log.js';
import { DEFAULT_TZ, fromWallClock, wallClock } from '../core/time.js';

export interface ClassRow {
  id: string;
  profile: string;
  room: string | null;
  name: string | null;
  workstations: number | null;
  satisfaction: number | null;
}

interface LessonRow {
  class_id: string;
  id: string;
  kind: LessonKind;
  start_ms: number;
  end_ms: number;
  cameras: string;
  make_up: number;
  room: string | null;
}

const toLesson = (r: LessonRow): Lesson & { classId: string; room: string | null } => ({
  classId: r.class_id,
  id: r.id,
  kind: r.kind,
  start: r.start_ms,
  end: r.end_ms,
  cameras: JSON.parse(r.cameras) as string[],
  makeUp: !!r.make_up,
  room: r.room,
});

/**
 * No segment is longer than this (recorder.segmentSeconds ≤ 600 s): a lower bound on start_ms lets
 * the recordings index serve the class's window instead of walking the camera's whole history.
 */
const MAX_SEGMENT_MS = 3600_000;

/** Classes, rosters, teachers and schedules; and the evidence bundle of a class. */
export class ClassRepo {
  private outbox: Outbox;
  constructor(private store: Store) {
    this.outbox = new Outbox(store);
  }

  /**
   * Import (or re-import) a class. Roster and schedule are replaced as a whole: the class file
   * is the school's truth. Evidence (recordings, sightings, check-ins) is never touched.
   */
  save(plan: ClassPlan, defaultProfile: string): void {
    const db = this.store.db;
    const now = this.store.now();
    const lastEnd = plan.lessons.length ? Math.max(...plan.lessons.map((l) => l.end)) : now;
    const exp = this.store.expiresAt(Math.max(lastEnd, now));
    this.store.tx(() => {
      db.prepare(
        `INSERT INTO classes (id, profile, room, name, workstations, satisfaction, created_ms, updated_ms, expires_ms)
         VALUES (@id, @profile, @room, @name, @workstations, @satisfaction, @now, @now, @exp)
         ON CONFLICT(id) DO UPDATE SET profile=excluded.profile, room=excluded.room, name=excluded.name,
           workstations=excluded.workstations, satisfaction=excluded.satisfaction, updated_ms=excluded.updated_ms, expires_ms=excluded.expires_ms`,
      ).run({
        id: plan.id,
        profile: plan.profile ?? defaultProfile,
        room: plan.room ?? null,
        name: plan.name ?? null,
        workstations: plan.workstations ?? null,
        satisfaction: plan.satisfaction ?? null,
        now,
        exp,
      });
      const log = evidenceLog(this.store);
      log.row('classes', [plan.id]);
      // roster and schedule before the import: what is not in the new plan is logged as removed
      const before = new Map<FactTable, string[]>();
      for (const t of ['trainees', 'teachers', 'lessons'] as const) {
        before.set(t, db.prepare(`SELECT id FROM ${t} WHERE class_id = ?`).pluck().all(plan.id) as string[]);
        db.prepare(`DELETE FROM ${t} WHERE class_id = ?`).run(plan.id);
      }
      const ins = db.prepare('INSERT INTO trainees (class_id, id, name, terminal_ids, has_previous, previous_assessed_ms, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      for (const t of plan.trainees) {
        ins.run(plan.id, t.id, t.name ?? null, JSON.stringify(t.terminalIds), t.previousProject ? 1 : 0, t.previousProject?.assessedAt ?? null, now, exp);
      }
      const insT = db.prepare('INSERT INTO teachers (class_id, id, name, certified, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?)');
      for (const t of plan.teachers) insT.run(plan.id, t.id, t.name ?? null, t.certified ? 1 : 0, now, exp);
      const insL = db.prepare('INSERT INTO lessons (class_id, id, kind, start_ms, end_ms, cameras, make_up, room, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      for (const l of plan.lessons) insL.run(plan.id, l.id, l.kind, l.start, l.end, JSON.stringify(l.cameras), l.makeUp ? 1 : 0, l.room ?? null, now, exp);
      // every roster and schedule row is logged (a re-import logs each again, correcting the last)
      const now_ = { trainees: plan.trainees.map((t) => t.id), teachers: plan.teachers.map((t) => t.id), lessons: plan.lessons.map((l) => l.id) };
      for (const t of ['trainees', 'teachers', 'lessons'] as const) {
        for (const id of now_[t]) log.row(t, [plan.id, id]);
        for (const id of before.get(t) ?? []) if (!now_[t].includes(id)) log.removed(t, [plan.id, id]);
      }
      // what the provincial system learns of the class: ids and counts, no names
      this.outbox.enqueue('class', now, {
        classId: plan.id,
        profile: plan.profile ?? defaultProfile,
        trainees: plan.trainees.map((t) => t.id),
        teachers: plan.teachers.map((t) => ({ id: t.id, certified: t.certified })),
        workstations: plan.workstations ?? null,
        lessons: plan.lessons.map((l) => ({ id: l.id, kind: l.kind, start: l.start, end: l.end, makeUp: l.makeUp })),
      });
    });
  }

  get(classId: string): ClassRow | undefined {
    return this.store.db.prepare('SELECT id, profile, room, name, workstations, satisfaction FROM classes WHERE id = ?').get(classId) as ClassRow | undefined;
  }

  list(): ClassRow[] {
    return this.store.db.prepare('SELECT id, profile, room, name, workstations, satisfaction FROM classes ORDER BY id').all() as ClassRow[];
  }

  lessons(classId: string) {
    return (this.store.db.prepare('SELECT * FROM lessons WHERE class_id = ? ORDER BY start_ms, id').all(classId) as LessonRow[]).map(toLesson);
  }

  /** Lessons of any class overlapping [from, to) (the daemon's view of "what is on"). */
  lessonsBetween(from: number, to: number) {
    return (this.store.db.prepare('SELECT * FROM lessons WHERE start_ms < ? AND end_ms > ? ORDER BY start_ms').all(to, from) as LessonRow[]).map(toLesson);
  }

  /** Terminal id (PIN, employeeNo) or trainee id → trainee ids of classes with a lesson in the window. */
  rosterIndex(): Map<string, { classId: string; trainee: string }[]> {
    const rows = this.store.db.prepare('SELECT class_id, id, terminal_ids FROM trainees').all() as { class_id: string; id: string; terminal_ids: string }[];
    const idx = new Map<string, { classId: string; trainee: string }[]>();
    const add = (k: string, v: { classId: string; trainee: string }) => idx.set(k, [...(idx.get(k) ?? []), v]);
    for (const r of rows) {
      const v = { classId: r.class_id, trainee: r.id };
      add(r.id, v);
      for (const t of JSON.parse(r.terminal_ids) as string[]) if (t !== r.id) add(t, v);
    }
    return idx;
  }

  /**
   * The evidence bundle of a class, from the store: the same input `evaluate` reads from a file.
   * Recordings: of the lessons' cameras (all cameras when a lesson lists none) within the class's
   * period. Sightings and check-ins: of the class's trainees within the class's period (check-ins
   * from the first lesson day's midnight, so the opening headcount sees early arrivals).
   */
  evidence(classId: string, refs?: string[]): Evidence | undefined {
    const c = this.get(classId);
    if (!c) return undefined;
    const db = this.store.db;
    const lessons = this.lessons(classId);
    // refs: the log entries that stand for this evidence (export-evidence proves each)
    const ref = (table: FactTable, key: unknown[]) => refs?.push(refOf(table, key));
    ref('classes', [classId]);
    const trainees = db.prepare('SELECT id, has_previous, previous_assessed_ms FROM trainees WHERE class_id = ? ORDER BY id').all(classId) as {
      id: string;
      has_previous: number;
      previous_assessed_ms: number | null;
    }[];
    const teachers = db.prepare('SELECT id, certified FROM teachers WHERE class_id = ? ORDER BY id').all(classId) as { id: string; certified: number }[];
    for (const t of trainees) ref('trainees', [classId, t.id]);
    for (const t of teachers) ref('teachers', [classId, t.id]);
    for (const l of lessons) ref('lessons', [classId, l.id]);
    const from = lessons.length ? Math.min(...lessons.map((l) => l.start)) : 0;
    const to = lessons.length ? Math.max(...lessons.map((l) => l.end)) : 0;
    const anyCamera = lessons.some((l) => !l.cameras.length);
    const cams = [...new Set(lessons.flatMap((l) => l.cameras))];
    const recRows = (
      anyCamera
        ? db
            .prepare('SELECT id, camera, start_ms, end_ms FROM recordings WHERE start_ms >= ? AND start_ms < ? AND end_ms > ? AND deleted_ms IS NULL ORDER BY camera, start_ms')
            .all(from - MAX_SEGMENT_MS, to, from)
        : cams.length
          ? db
              .prepare(
                `SELECT id, camera, start_ms, end_ms FROM recordings WHERE camera IN (${cams.map(() => '?').join(',')}) AND start_ms >= ? AND start_ms < ? AND end_ms > ? AND deleted_ms IS NULL ORDER BY camera, start_ms`,
              )
              .all(...cams, from - MAX_SEGMENT_MS, to, from)
          : []
    ) as { id: number; camera: string; start_ms: number; end_ms: number }[];
    const sightRows = db
      .prepare(
        'SELECT s.id, s.trainee, s.camera, s.at_ms FROM sightings s JOIN trainees t ON t.class_id = ? AND t.id = s.trainee WHERE s.at_ms >= ? AND s.at_ms < ? AND (s.class_id IS NULL OR s.class_id = ?) ORDER BY s.at_ms',
      )
      .all(classId, from, to, classId) as { id: number; trainee: string; camera: string; at_ms: number }[];
    const w = wallClock(from, DEFAULT_TZ);
    const dayStart = lessons.length ? fromWallClock({ year: w.year, month: w.month, day: w.day }, DEFAULT_TZ) : 0;
    const checkRows = db
      .prepare(
        'SELECT c.id, c.correction_id, c.trainee, c.terminal, c.at_ms FROM checkins_current c JOIN trainees t ON t.class_id = ? AND t.id = c.trainee WHERE c.at_ms >= ? AND c.at_ms < ? AND (c.class_id IS NULL OR c.class_id = ?) ORDER BY c.at_ms, c.id',
      )
      .all(classId, dayStart, to, classId) as { id: number; correction_id: number | null; trainee: string; terminal: string; at_ms: number }[];
    for (const r of recRows) ref('recordings', [r.id]);
    for (const r of sightRows) ref('sightings', [r.id]);
    // a corrected check-in is proven by its own entry and by the correction's
    for (const r of checkRows) {
      ref('checkins', [r.id]);
      if (r.correction_id !== null) ref('checkin_corrections', [r.correction_id]);
    }
    return {
      profile: c.profile,
      class: {
        id: c.id,
        trainees: trainees.map((t) => (t.has_previous ? { id: t.id, previousProject: { assessedAt: t.previous_assessed_ms } } : { id: t.id })),
        teachers: teachers.map((t) => ({ id: t.id, certified: !!t.certified })),
        ...(c.workstations !== null ? { workstations: c.workstations } : {}),
        ...(c.satisfaction !== null ? { satisfaction: c.satisfaction } : {}),
      },
      lessons: lessons.map(({ id, kind, start, end, cameras, makeUp }) => ({ id, kind, start, end, cameras, makeUp })),
      recordings: recRows.map((r) => ({ camera: r.camera, start: r.start_ms, end: r.end_ms })),
      sightings: sightRows.map((s) => ({ trainee: s.trainee, camera: s.camera, at: s.at_ms })),
      checkins: checkRows.map((r) => ({ trainee: r.trainee, terminal: r.terminal, at: r.at_ms })),
    };
  }
}
