import { evidenceLog } from './evidence-log.js';
import type { Store } from './store.js';

export type ConsoleRole = 'technician' | 'school' | 'inspector';
export const CONSOLE_ROLES: readonly ConsoleRole[] = ['technician', 'school', 'inspector'];

export interface ConsoleUserRow {
  name: string;
  role: ConsoleRole;
  password_hash: string;
  created_ms: number;
  updated_ms: number;
}

export interface AccessEntry {
  at: number;
  user: string;
  role: string;
  /** what was done: 'login', 'view:today', 'live', 'playback', 'export:bundle', ... */
  action: string;
  /** what it was done to: a camera id, a class id, a lesson, a time range */
  subject: string;
  remote?: string;
  outcome: 'ok' | 'denied' | 'failed';
}

export interface AccessRow {
  id: number;
  at_ms: number;
  user: string;
  role: string;
  action: string;
  subject: string;
  remote: string | null;
  outcome: string;
}

/** The console's users (who may log in, with which role) and its access entries. */
export class ConsoleRepo {
  constructor(private store: Store) {}

  users(): Omit<ConsoleUserRow, 'password_hash'>[] {
    return this.store.db.prepare('SELECT name, role, created_ms, updated_ms FROM console_users ORDER BY name').all() as Omit<ConsoleUserRow, 'password_hash'>[];
  }

  user(name: string): ConsoleUserRow | undefined {
    return this.store.db.prepare('SELECT * FROM console_users WHERE name = ?').get(name) as ConsoleUserRow | undefined;
  }

  count(): number {
    return this.store.db.prepare('SELECT COUNT(*) FROM console_users').pluck().get() as number;
  }

  /** Returns false when the name is taken. */
  addUser(name: string, role: ConsoleRole, passwordHash: string): boolean {
    const now = this.store.now();
    const r = this.store.db.prepare('INSERT OR IGNORE INTO console_users (name, role, password_hash, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)').run(name, role, passwordHash, now, now);
    return r.changes === 1;
  }

  setPassword(name: string, passwordHash: string): boolean {
    return this.store.db.prepare('UPDATE console_users SET password_hash = ?, updated_ms = ? WHERE name = ?').run(passwordHash, this.store.now(), name).changes === 1;
  }

  removeUser(name: string): boolean {
    return this.store.db.prepare('DELETE FROM console_users WHERE name = ?').run(name).changes === 1;
  }

  /**
   * One access entry (a view, an export, a login): the console's evidential fact. Append-only;
   * the evidence log takes these rows in.
   */
  /** An access entry: a row here and an entry in the evidence log, in one transaction. */
  recordAccess(e: AccessEntry): number {
    const s = this.store;
    const row = { at_ms: e.at, user: e.user, role: e.role, action: e.action, subject: e.subject, remote: e.remote ?? null, outcome: e.outcome, expires_ms: s.expiresAt(e.at) };
    return s.tx(() => {
      const id = Number(
        s.db
          .prepare('INSERT INTO console_access (at_ms, user, role, action, subject, remote, outcome, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(row.at_ms, row.user, row.role, row.action, row.subject, row.remote, row.outcome, s.now(), row.expires_ms).lastInsertRowid,
      );
      evidenceLog(s).inserted('console_access', [id], row);
      return id;
    });
  }

  access(since = 0, limit = 200): AccessRow[] {
    return this.store.db.prepare('SELECT id, at_ms, user, role, action, subject, remote, outcome FROM console_access WHERE at_ms >= ? ORDER BY id DESC LIMIT ?').all(since, limit) as AccessRow[];
  }
}

export interface CheckinView {
  id: number;
  at: number;
  terminal: string;
  person: string | null;
  trainee: string | null;
  classId: string | null;
}

/**
 * Read-only queries the console's pages need beside the repositories' own (windows of alarms
 * and check-ins, trainee names). Here rather than in those repositories so the console adds
 * SQL without editing files other work changes.
 */
export class ConsoleViews {
  constructor(private store: Store) {}

  alarmsBetween(from: number, to: number): { kind: string; subject: string; message: string; raised_ms: number; cleared_ms: number | null }[] {
    return this.store.db
      .prepare('SELECT kind, subject, message, raised_ms, cleared_ms FROM alarms WHERE raised_ms < ? AND (cleared_ms IS NULL OR cleared_ms > ?) ORDER BY raised_ms')
      .all(to, from) as { kind: string; subject: string; message: string; raised_ms: number; cleared_ms: number | null }[];
  }

  /** Check-ins in a window: the class's trainees and the unknown people (no trainee matched). */
  checkinsBetween(classId: string, from: number, to: number): CheckinView[] {
    return this.store.db
      .prepare(
        `SELECT id, at_ms AS at, terminal, person, trainee, class_id AS classId FROM checkins
         WHERE at_ms >= ? AND at_ms < ? AND (trainee IS NULL OR class_id = ? OR (class_id IS NULL AND trainee IN (SELECT id FROM trainees WHERE class_id = ?)))
         ORDER BY at_ms, id LIMIT 5000`,
      )
      .all(from, to, classId, classId) as CheckinView[];
  }

  traineeNames(classId: string): Map<string, string | null> {
    const rows = this.store.db.prepare('SELECT id, name FROM trainees WHERE class_id = ? ORDER BY id').all(classId) as { id: string; name: string | null }[];
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /**
   * Per trainee, the match whose crop a reviewer is shown: the closest match (lowest distance)
   * that still has a kept crop, in one lesson or (lessonId undefined) across the class. Only ids:
   * the crop itself is opened by the console for roles allowed to see faces.
   */
  cropMatches(classId: string, lessonId?: string): Map<string, number> {
    const rows = this.store.db
      .prepare(
        `SELECT m.trainee, m.id FROM face_matches m JOIN face_crops c ON c.match_id = m.id
         WHERE m.class_id = ? AND (? IS NULL OR m.lesson_id = ?) AND c.expires_ms > ? ORDER BY m.distance DESC, m.id DESC`,
      )
      .all(classId, lessonId ?? null, lessonId ?? null, this.store.now()) as { trainee: string; id: number }[];
    // ascending by closeness: the last write per trainee is its best match
    return new Map(rows.map((r) => [r.trainee, r.id]));
  }

  segment(id: number): { id: number; camera: string; path: string; start_ms: number; end_ms: number } | undefined {
    return this.store.db.prepare('SELECT id, camera, path, start_ms, end_ms FROM recordings WHERE id = ? AND deleted_ms IS NULL').get(id) as
      | { id: number; camera: string; path: string; start_ms: number; end_ms: number }
      | undefined;
  }
}
