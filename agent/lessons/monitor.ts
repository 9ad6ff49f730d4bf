import type { Logger } from 'pino';
import { evaluate } from '../compliance/engine.js';
import type { Lesson, Verdict } from '../compliance/evidence.js';
import { liveCameras, liveOptions, liveRisk, type LiveStatus } from '../compliance/live.js';
import { loadProfile, type Profile } from '../config/profile.js';
import type { AgentContext } from '../core/context.js';
import { logger } from '../core/log.js';
import type { Module } from '../core/module.js';
import { formatLocal } from '../core/time.js';
import { AlarmRepo } from '../store/alarms.js';
import { ClassRepo } from '../store/classes.js';
import { EvidenceRepo } from '../store/evidence.js';
import { LiveRepo } from '../store/live.js';

/** Alarm kinds raised by the monitor; subject `<classId>/<lessonId>`. */
export const LESSON_ALARMS = { atRisk: 'lesson-at-risk', lost: 'lesson-lost', unseen: 'trainees-unseen' } as const;

type LessonOn = Lesson & { classId: string; room: string | null };

/**
 * Live lessons. Every few seconds, and soon after each segment, gap, camera status, sighting or
 * check-in, it judges the lessons on now in this box's room (compliance/live) and raises or
 * clears alarms the moment a lesson turns at risk — while it can still be saved. When a lesson
 * ends (plus a settle time for its last segment) its verdict is computed and saved (outbox →
 * provincial system); when a class's last lesson ends, the class verdict; and again whenever
 * late evidence changes it. The store is the memory: after a restart, any lesson that ended
 * without a verdict gets one.
 */
export class LessonMonitor implements Module {
  readonly name = 'lessons';
  private log: Logger = logger('lessons');
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private cameraStatus = new Map<string, { state: string; since: number }>();
  /** last live state per lesson key, to report transitions once */
  private lastState = new Map<string, LiveStatus['state']>();
  /** classes with late evidence → due time of their re-evaluation */
  private dirty = new Map<string, number>();
  private profiles = new Map<string, Profile>();
  private repo!: LiveRepo;
  private classes!: ClassRepo;
  private alarms!: AlarmRepo;
  private evidence!: EvidenceRepo;

  constructor(private ctx: AgentContext) {}

  async start(): Promise<void> {
    const { bus, store } = this.ctx;
    this.repo = new LiveRepo(store);
    this.classes = new ClassRepo(store);
    this.alarms = new AlarmRepo(store);
    this.evidence = new EvidenceRepo(store);
    bus.on(this, 'camera.status', (e) => {
      const prev = this.cameraStatus.get(e.camera);
      if (prev?.state !== e.state) this.cameraStatus.set(e.camera, { state: e.state, since: this.ctx.now() });
      this.schedule();
    });
    bus.on(this, 'recording.gap', (e) => {
      // an open gap means down since its start; a closed one means recording again
      this.cameraStatus.set(e.camera, e.end === null ? { state: 'down', since: e.start } : { state: 'recording', since: e.end });
      this.schedule();
    });
    // evidence of a lesson still on (or not yet settled) is judged when it settles; only evidence
    // of lessons already judged is "late" and re-opens the class
    bus.on(this, 'segment.indexed', (e) => this.late(this.repo.lessonsForFootage(e.camera, e.start, e.end)));
    bus.on(this, 'sightings.stored', (e) => {
      const span = this.repo.recordingSpan(e.recordingId);
      this.late(span ? this.repo.lessonsForFootage(span.camera, span.start, span.end) : []);
    });
    // check-ins count for the class as a whole (opening headcount): late once its last lesson is judged
    bus.on(this, 'checkin.stored', (e) => this.late(e.trainee ? this.repo.classesOfTrainee(e.trainee) : []));
    this.timer = setInterval(() => this.safeTick(), this.ctx.cfg.monitor.tickSeconds * 1000);
    this.timer.unref();
    this.safeTick();
  }

  async stop(): Promise<void> {
    this.ctx.bus.removeListeners(this);
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = undefined;
  }

  /** Evidence arrived: re-judge live lessons soon; classes whose concerned lessons are judged already get a late re-evaluation. */
  private late(concerned: { classId: string; end: number }[]): void {
    const now = this.ctx.now();
    const due = now + this.ctx.cfg.monitor.lateDebounceSeconds * 1000;
    const settled = now - this.settleMs();
    for (const c of concerned) if (c.end <= settled) this.dirty.set(c.classId, due);
    this.schedule();
  }

  private schedule(): void {
    if (this.soon || !this.timer) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.safeTick();
    }, 250);
    this.soon.unref();
  }

  private safeTick(): void {
    try {
      this.tick();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'lesson monitor tick failed');
    }
  }

  private settleMs(): number {
    const m = this.ctx.cfg.monitor;
    return (m.settleSeconds ?? this.ctx.cfg.recorder.segmentSeconds + 10) * 1000;
  }

  private profileOf(classId: string): Profile {
    const id = this.classes.get(classId)?.profile ?? this.ctx.profile.id;
    let p = this.profiles.get(id);
    if (!p) {
      try {
        p = loadProfile(id);
      } catch {
        this.log.warn({ classId, profile: id }, 'class profile unknown; judging with the box profile');
        p = this.ctx.profile;
      }
      this.profiles.set(id, p);
    }
    return p;
  }

  /** Lessons of this box's room that are on at `now`. */
  lessonsOn(now: number): LessonOn[] {
    const room = this.ctx.cfg.box.room;
    return this.classes.lessonsBetween(now, now + 1).filter((l) => (l.room ?? this.repo.classRoom(l.classId) ?? room) === room);
  }

  /** One pass: live lessons, then verdicts due. Public so tests drive it with their clock. */
  tick(): void {
    const now = this.ctx.now();
    const on = this.lessonsOn(now);
    const onKeys = new Set<string>();
    if (on.length) {
      const openGaps = this.repo.openGaps();
      const freshMs = this.ctx.cfg.recorder.segmentSeconds * 1500 + 10_000;
      let anyCams: string[] | undefined;
      for (const lesson of on) {
        const key = `${lesson.classId}/${lesson.id}`;
        onKeys.add(key);
        const profile = this.profileOf(lesson.classId);
        const recordings = this.repo.recordings(lesson.cameras, lesson.start - profile.continuityToleranceSeconds * 1000, now);
        // a lesson listing no camera is covered by any camera of the box
        anyCams ??= lesson.cameras.length ? undefined : [...new Set([...this.ctx.cfg.cameras.map((c) => c.id), ...this.cameraStatus.keys(), ...this.repo.knownCameras(now - 86_400_000)])];
        const cams = lesson.cameras.length ? lesson.cameras : anyCams!;
        const lastEnds = this.repo.lastSegmentEnds(cams);
        const live = liveCameras({ cameras: cams, status: this.cameraStatus, lastSegmentEnd: lastEnds, openGaps, now, freshMs });
        const status = liveRisk(
          { lesson, recordings, live, sightings: this.repo.sightings(lesson.classId, lesson.start, now + 1), trainees: this.repo.trainees(lesson.classId), now },
          liveOptions(profile, this.ctx.cfg.monitor.unseenWarnMinutes * 60_000),
        );
        this.applyAlarms(key, lesson, status, now);
      }
    }
    // lessons that were on and are not any more: their live alarms end with them
    for (const key of [...this.lastState.keys()]) {
      if (onKeys.has(key)) continue;
      this.lastState.delete(key);
    }
    this.verdictsDue(now);
  }

  private applyAlarms(key: string, lesson: LessonOn, s: LiveStatus, now: number): void {
    const kindZh = lesson.kind === 'practical' ? '实操' : lesson.kind === 'theory' ? '理论' : '线上';
    const wantRisk = s.recording === 'at-risk';
    const wantLost = s.recording === 'lost';
    const wantUnseen = s.reasons.includes('trainees-unseen');
    const by = s.deadline !== undefined ? formatLocal(s.deadline, this.ctx.cfg.box.timezone).slice(11) : '';
    const cams = lesson.cameras.join(', ') || '*';
    const riskMsg = s.reasons.includes('camera-down')
      ? `${kindZh}课时 ${key} 摄像头 ${cams} 未在录像，须在 ${by} 前恢复才能达到连续录像要求 / practical lesson ${key}: camera ${cams} not recording; restore it by ${by} to reach the continuous-video minimum`
      : `理论课时 ${key} 录像中断，须在 ${by} 前恢复 / lesson ${key}: recording stopped; restore it by ${by} to stay within the tolerance`;
    const lostMsg = s.reasons.includes('recording-gap')
      ? `${kindZh}课时 ${key} 未全程录像（缺 ${Math.round(s.uncoveredMs / 1000)} 秒） / lesson ${key}: not fully recorded (${Math.round(s.uncoveredMs / 1000)} s missing)`
      : `${kindZh}课时 ${key} 已无法达到连续录像要求 / lesson ${key}: the continuous-video minimum can no longer be reached`;
    const unseenMsg = `课时 ${key} 尚有 ${s.unseen.length} 名学员未出镜：${s.unseen.slice(0, 20).join(', ')} / lesson ${key}: ${s.unseen.length} trainee(s) not yet seen on camera`;
    this.setAlarm(LESSON_ALARMS.atRisk, key, wantRisk, riskMsg, now);
    this.setAlarm(LESSON_ALARMS.lost, key, wantLost, lostMsg, now);
    this.setAlarm(LESSON_ALARMS.unseen, key, wantUnseen, unseenMsg, now);
    if (this.lastState.get(key) !== s.state) {
      this.lastState.set(key, s.state);
      this.ctx.bus.emit('lesson.live', { classId: lesson.classId, lessonId: lesson.id, state: s.state, reasons: s.reasons, at: now });
      this.log.info({ lesson: key, state: s.state, reasons: s.reasons, longestMs: s.longestMs, potentialMs: s.potentialMs, uncoveredMs: s.uncoveredMs }, 'lesson state');
    }
  }

  private setAlarm(kind: string, subject: string, want: boolean, message: string, now: number): void {
    if (want) {
      if (this.alarms.raise(kind, subject, message, now)) {
        this.log.warn({ kind, subject, message }, 'alarm raised');
        this.ctx.bus.emit('alarm.raised', { kind, subject, message, at: now });
      }
    } else if (this.alarms.clear(kind, subject, now)) {
      this.log.info({ kind, subject }, 'alarm cleared');
      this.ctx.bus.emit('alarm.cleared', { kind, subject, at: now });
    }
  }

  /** Lesson and class verdicts that are due: lessons ended without one, and classes with late evidence. */
  private verdictsDue(now: number): void {
    const settled = now - this.settleMs();
    const todo = new Set(this.repo.classesMissingVerdicts(settled));
    for (const [classId, due] of this.dirty) {
      if (due <= now) {
        todo.add(classId);
        this.dirty.delete(classId);
      }
    }
    for (const classId of todo) this.judgeClass(classId, now, settled);
  }

  /**
   * Evaluate a class on its evidence so far; save the verdict of every settled lesson and, once
   * all lessons are settled, of the class — each only when it differs from the one last saved,
   * so late evidence that changes nothing sends nothing.
   */
  judgeClass(classId: string, now: number, settled: number = now - this.settleMs()): void {
    const ev = this.classes.evidence(classId);
    if (!ev || !ev.lessons.length) return;
    const v = evaluate(ev, this.profileOf(classId));
    for (const lesson of ev.lessons) {
      if (lesson.end > settled) continue;
      const mine = lessonPart(v, lesson.id);
      const prev = this.repo.latestVerdict(classId, lesson.id);
      if (prev !== undefined && JSON.stringify(lessonPart(JSON.parse(prev) as Verdict, lesson.id)) === JSON.stringify(mine)) continue;
      this.evidence.saveVerdict(v, now, lesson.id);
      const eligible = mine.violations.length === 0;
      this.ctx.bus.emit('verdict.computed', { classId, lessonId: lesson.id, eligible, at: now });
      this.log.info({ classId, lesson: lesson.id, eligible, late: prev !== undefined }, 'lesson verdict');
      const key = `${classId}/${lesson.id}`;
      // the verdict is the final word on the lesson; its live alarms are over
      for (const kind of Object.values(LESSON_ALARMS)) this.setAlarm(kind, key, false, '', now);
    }
    if (Math.max(...ev.lessons.map((l) => l.end)) > settled) return;
    const body = JSON.stringify(v);
    const prev = this.repo.latestVerdict(classId, null);
    if (prev === body) return;
    this.evidence.saveVerdict(v, now);
    this.ctx.bus.emit('verdict.computed', { classId, eligible: v.eligible, at: now });
    this.log.info({ classId, eligible: v.eligible, violations: v.violations.length, late: prev !== undefined }, 'class verdict');
  }
}

/** What a verdict says about one lesson: its figures and its findings. */
export function lessonPart(v: Verdict, lessonId: string) {
  return {
    lesson: v.lessons.find((l) => l.id === lessonId),
    violations: v.violations.filter((f) => f.lesson === lessonId),
    warnings: v.warnings.filter((f) => f.lesson === lessonId),
  };
}
