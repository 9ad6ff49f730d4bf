import type { Interval } from '../compliance/intervals.js';
import type { CameraConfig, Config } from '../config/schema.js';
import { ClassRepo } from '../store/classes.js';
import { LiveRepo } from '../store/live.js';
import type { Store } from '../store/store.js';
import { cameraWindows, type RecordMode, type ScheduledLesson } from './schedule.js';

/** The mode a camera records in: its own `record`, else `recorder.schedule`. */
export const recordModeOf = (cfg: Config, cam: Pick<CameraConfig, 'record'>): RecordMode => cam.record ?? cfg.recorder.schedule;

export const marginsOf = (cfg: Config) => ({ beforeMs: cfg.recorder.marginBeforeMinutes * 60_000, afterMs: cfg.recorder.marginAfterMinutes * 60_000 });

/**
 * The imported lessons of this box's room overlapping [from, to), as the schedule reads them
 * (the room rule of lessons/today: the lesson's room, else its class's, else the box's).
 */
export function roomLessons(store: Store, cfg: Config, from: number, to: number): ScheduledLesson[] {
  const classes = new ClassRepo(store);
  const live = new LiveRepo(store);
  const rooms = new Map<string, string | null>();
  const roomOf = (classId: string) => {
    if (!rooms.has(classId)) rooms.set(classId, live.classRoom(classId));
    return rooms.get(classId)!;
  };
  return classes.lessonsBetween(from, to).filter((l) => (l.room ?? roomOf(l.classId) ?? cfg.box.room) === cfg.box.room);
}

/** Each camera's recording windows over [from, to) (margins included), from the store's timetable. */
export function windowsOf(store: Store, cfg: Config, cams: readonly CameraConfig[], from: number, to: number): Map<string, Interval[]> {
  const m = marginsOf(cfg);
  // every camera recording always: no lesson to read (the recorder asks every few seconds)
  if (cams.every((c) => recordModeOf(cfg, c) === 'always')) return new Map(cams.map((c) => [c.id, cameraWindows([], c.id, 'always', m)]));
  // lessons just outside [from, to) still reach into it by their margins
  const lessons = roomLessons(store, cfg, from - m.afterMs, to + m.beforeMs);
  return new Map(cams.map((c) => [c.id, cameraWindows(lessons, c.id, recordModeOf(cfg, c), m)]));
}
