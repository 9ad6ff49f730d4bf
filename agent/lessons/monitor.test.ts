import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClassPlan } from '../classes/classfile.js';
import { loadProfile } from '../config/profile.js';
import { configSchema } from '../config/schema.js';
import { EventBus } from '../core/bus.js';
import type { AgentContext } from '../core/context.js';
import type { AgentEvents } from '../core/events.js';
import { logger } from '../core/log.js';
import { AlarmRepo } from '../store/alarms.js';
import { ClassRepo } from '../store/classes.js';
import { EvidenceRepo } from '../store/evidence.js';
import { Store } from '../store/store.js';
import { LessonMonitor } from './monitor.js';

const MIN = 60_000;
const S = Date.UTC(2025, 9, 8, 0, 0, 0); // 2025-10-08 08:00 Beijing

let dir: string;
let store: Store;
let clock: number;
let ctx: AgentContext;
let events: { name: string; payload: unknown }[];
let monitor: LessonMonitor;
let rec = 0;

const plan: ClassPlan = {
  id: 'HN-1',
  room: 'room-1',
  timezone: 'Asia/Shanghai',
  trainees: [{ id: 'S01', terminalIds: [] }],
  teachers: [{ id: 'T01', certified: true }],
  lessons: [{ id: 'L1', kind: 'practical', start: S, end: S + 45 * MIN, cameras: ['cam-1'], makeUp: false }],
};

function segment(a: number, b: number, camera = 'cam-1') {
  const id = new EvidenceRepo(store).addRecording({ camera, path: `/v/${camera}/${++rec}.mp4`, start: S + a, end: S + b, bytes: 1000, sha256: 'x' });
  ctx.bus.emit('segment.indexed', { id, camera, path: `/v/${camera}/${rec}.mp4`, start: S + a, end: S + b, bytes: 1000 });
  return id;
}
const openAlarms = () => new AlarmRepo(store).open().map((a) => `${a.kind} ${a.subject}`);
/** Saved verdicts: for a lesson row, whether the lesson itself has no violation; for a class row, the class's eligibility. */
const verdictRows = () =>
  (store.db.prepare('SELECT lesson_id, eligible, body FROM verdicts ORDER BY id').all() as { lesson_id: string | null; eligible: number; body: string }[]).map((r) => ({
    lesson_id: r.lesson_id,
    eligible: r.lesson_id ? Number(!(JSON.parse(r.body) as { violations: { lesson?: string }[] }).violations.some((f) => f.lesson === r.lesson_id)) : r.eligible,
  }));
const at = (ms: number) => {
  clock = S + ms;
  monitor.tick();
};

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-monitor-'));
  clock = S - 10 * MIN;
  store = new Store({ file: path.join(dir, 'evidence.db'), now: () => clock });
  const cfg = configSchema.parse({ paths: { state: dir }, recorder: { segmentSeconds: 60 }, monitor: { settleSeconds: 70, lateDebounceSeconds: 5 } });
  ctx = {
    cfg,
    profile: loadProfile('henan-2025'),
    store,
    bus: new EventBus<AgentEvents>(),
    log: logger('test'),
    now: () => clock,
    paths: { state: dir, video: path.join(dir, 'video'), database: store.file },
  };
  new ClassRepo(store).save(plan, 'henan-2025');
  events = [];
  for (const name of ['alarm.raised', 'alarm.cleared', 'verdict.computed', 'lesson.live'] as const) ctx.bus.on({}, name, (payload) => events.push({ name, payload }));
  monitor = new LessonMonitor(ctx);
  await monitor.start();
});
afterEach(async () => {
  await monitor.stop();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('LessonMonitor', () => {
  it('raises the alarm the moment a practical lesson is at risk, clears it when the camera is back', () => {
    segment(0, 5 * MIN);
    at(6 * MIN); // last segment closed 1 min ago, no recorder status: still taken as recording
    expect(openAlarms()).toEqual([]);
    ctx.bus.emit('recording.gap', { camera: 'cam-1', start: S + 5 * MIN, end: null, reason: 'camera_timeout' });
    at(6 * MIN + 1000);
    expect(openAlarms()).toEqual(['lesson-at-risk HN-1/L1']);
    expect(events.find((e) => e.name === 'alarm.raised')?.payload).toMatchObject({ kind: 'lesson-at-risk', subject: 'HN-1/L1' });
    // it went to the outbox for the provincial system too
    expect(store.db.prepare("SELECT COUNT(*) FROM outbox WHERE type = 'alarm'").pluck().get()).toBe(1);
    ctx.bus.emit('camera.status', { camera: 'cam-1', state: 'recording' });
    at(10 * MIN);
    expect(openAlarms()).toEqual([]);
    expect(events.filter((e) => e.name === 'alarm.cleared')).toHaveLength(1);
  });

  it('says lost when 15 minutes can no longer be reached, then saves the lesson and class verdicts after the settle time', () => {
    segment(0, 5 * MIN);
    ctx.bus.emit('recording.gap', { camera: 'cam-1', start: S + 5 * MIN, end: null, reason: 'ffmpeg_exit' });
    at(30 * MIN);
    expect(openAlarms()).toEqual(['lesson-at-risk HN-1/L1']);
    at(30 * MIN + 1000);
    expect(openAlarms()).toEqual(['lesson-lost HN-1/L1']);
    at(45 * MIN + 60_000); // ended, not settled (settle 70 s)
    expect(verdictRows()).toEqual([]);
    at(45 * MIN + 70_000);
    expect(verdictRows()).toEqual([
      { lesson_id: 'L1', eligible: 0 },
      { lesson_id: null, eligible: 0 },
    ]);
    expect(openAlarms()).toEqual([]); // the verdict is the final word
    const computed = events.filter((e) => e.name === 'verdict.computed').map((e) => e.payload);
    expect(computed).toMatchObject([
      { classId: 'HN-1', lessonId: 'L1', eligible: false },
      { classId: 'HN-1', eligible: false },
    ]);
    expect(store.db.prepare("SELECT type FROM outbox WHERE type LIKE '%verdict' ORDER BY seq").pluck().all()).toEqual(['lesson-verdict', 'class-verdict']);
    // nothing new: no new verdict
    at(50 * MIN);
    expect(verdictRows()).toHaveLength(2);
  });

  it('re-evaluates the class when late evidence arrives, and only saves a verdict that changed', () => {
    segment(0, 5 * MIN);
    at(47 * MIN);
    expect(verdictRows().map((r) => r.eligible)).toEqual([0, 0]);
    // footage uploaded late (e.g. a camera's SD card backfill): now the lesson has 20 continuous minutes
    segment(5 * MIN, 25 * MIN);
    at(47 * MIN + 2000); // debounce (5 s) not over
    expect(verdictRows()).toHaveLength(2);
    at(47 * MIN + 6000);
    // the lesson is now fine; the class is still not eligible (S01 not on camera in 3 lessons) but its verdict changed
    expect(verdictRows().slice(2)).toEqual([
      { lesson_id: 'L1', eligible: 1 },
      { lesson_id: null, eligible: 0 },
    ]);
    // a late check-in that changes nothing in the verdict: no new rows
    ctx.bus.emit('checkin.stored', { id: 1, terminal: 'gate', trainee: 'S01', at: S });
    at(48 * MIN);
    expect(verdictRows()).toHaveLength(4);
  });

  it('after a restart, lessons that ended while the daemon was down get their verdicts', async () => {
    await monitor.stop();
    segment(0, 20 * MIN);
    clock = S + 3 * 60 * MIN;
    monitor = new LessonMonitor(ctx);
    await monitor.start(); // start() ticks once
    expect(verdictRows()).toEqual([
      { lesson_id: 'L1', eligible: 1 },
      { lesson_id: null, eligible: 0 },
    ]);
  });

  it('ignores lessons of another room', () => {
    new ClassRepo(store).save({ ...plan, id: 'HN-2', room: 'room-9' }, 'henan-2025');
    at(20 * MIN);
    expect(monitor.lessonsOn(clock).map((l) => l.classId)).toEqual(['HN-1']);
    expect(openAlarms()).toEqual(['lesson-at-risk HN-1/L1']);
  });
});
