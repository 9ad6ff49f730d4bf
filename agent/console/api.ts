import fs from 'node:fs';
import path from 'node:path';
import { toBundle } from '../compliance/bundle.js';
import { evaluate } from '../compliance/engine.js';
import type { Verdict } from '../compliance/evidence.js';
import { loadProfile } from '../config/profile.js';
import type { AgentContext } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { doctorEnv, runDoctor } from '../doctor/index.js';
import type { CheckResult } from '../doctor/check.js';
import { today } from '../lessons/today.js';
import { CheckinRepo } from '../store/checkins.js';
import { ClassRepo } from '../store/classes.js';
import { ConsoleRepo, ConsoleViews } from '../store/console.js';
import { Outbox } from '../store/outbox.js';
import { FaceRepo } from '../store/faces.js';
import { RecordingRepo } from '../store/recordings.js';
import { openCrop } from '../vision/gallery.js';
import { loadFaceKey, resolveFaceKey } from '../vision/keysource.js';
import { parseInit, parseMoof } from '../recorder/fmp4.js';
import { ExportError, exportVideo, manifestPathOf } from '../recorder/export.js';
import { union } from '../compliance/intervals.js';

/**
 * Uncovered stretches worth showing: the recorder's own gaps, and holes longer than the rule
 * profile's continuity tolerance. The few milliseconds between two segments of one run (their
 * ends are estimated from arrival times) are not gaps in the rules' sense and would only clutter.
 */
const shown = (gaps: Array<{ start: number; end: number; reason: string }>, tolMs: number) => gaps.filter((g) => g.reason !== 'not recorded' || g.end - g.start > Math.max(1000, tolMs));

export type Action = 'view' | 'export' | 'box' | 'audit' | 'faces';

export type Output =
  | { kind: 'json'; body: unknown }
  | { kind: 'download'; type: string; filename: string; body: string | Buffer }
  /** shown inline, never stored by the browser (a face crop) */
  | { kind: 'inline'; type: string; body: Buffer }
  | { kind: 'file'; file: string; type: string /** set: a download, not an inline play */; filename?: string };

export interface Route {
  /** the permission it needs (server.ts CAN) */
  need: Action;
  /** what the access entry records */
  action: string;
  subject: string;
  run(): Promise<Output> | Output;
}

const notFound = (what: string) => new InputError('not-found', [{ path: '', message: what }]);
const bad = (pathName: string, msg: string) => new InputError('request', [{ path: pathName, message: msg }]);
const ID = /^[A-Za-z0-9._:@-]{1,100}$/;

function timeParam(q: URLSearchParams, name: string): number {
  const v = q.get(name);
  const n = v && /^\d{10,15}$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw bad(name, `${name} must be a time in UTC milliseconds / ${name} 须为 UTC 毫秒时间`);
  return n;
}

/**
 * What the player needs from a segment file's head: the decode time (seconds) of its first
 * fragment, where its media timeline begins, and its codec string from the init segment's
 * avcC/hvcC (a camera may be switched between profiles or codecs from one segment to the next).
 */
export function segmentHead(file: string): { firstDts: number; codec: string | null } {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n);
    let init;
    // moof is written before its mdat, so it lies in the head even when the mdat does not
    for (let at = 0; at + 8 <= head.length; ) {
      const size = head.readUInt32BE(at);
      const type = head.toString('latin1', at + 4, at + 8);
      if (size < 8) break;
      if (type === 'moov' && at + size <= head.length) init = parseInit(head, { type, start: at, size, header: 8 });
      if (type === 'moof' && init && at + size <= head.length) return { firstDts: parseMoof(head, { type, start: at, size, header: 8 }, init).baseSeconds, codec: init.codec };
      at += size;
    }
    return { firstDts: 0, codec: init?.codec ?? null };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The console's read-only routes. Each reuses what the CLI computes (today() for `status`,
 * evaluate() for `report`, runDoctor() for `doctor`, the recorder's coverage for `recordings
 * gaps`), so the browser and the terminal can never disagree.
 */
export class ConsoleApi {
  private doctorCache?: { at: number; results: Promise<CheckResult[]> };
  constructor(private ctx: AgentContext) {}

  route(p: string, q: URLSearchParams): Route | undefined {
    const parts = p.split('/').slice(2).map(decodeURIComponent);
    for (const x of parts) if (x && !ID.test(x)) return undefined;
    const [a, b, c, d] = parts;
    if (a === 'today' && !b) return { need: 'view', action: 'view:today', subject: '', run: () => this.json(today(this.ctx.store, this.ctx.cfg, this.ctx.now())) };
    if (a === 'cameras' && !b) return { need: 'view', action: 'view:cameras', subject: '', run: () => this.json(this.cameras()) };
    if (a === 'classes' && !b) return { need: 'view', action: 'view:classes', subject: '', run: () => this.json(new ClassRepo(this.ctx.store).list()) };
    if (a === 'class' && b && !c) return { need: 'view', action: 'view:class', subject: b, run: () => this.json(this.classPage(b)) };
    if (a === 'class' && b && c === 'lesson' && d) return { need: 'view', action: 'view:lesson', subject: `${b}/${d}`, run: () => this.json(this.timeline(b, d)) };
    if (a === 'class' && b && c === 'bundle' && !d) return { need: 'export', action: 'export:bundle', subject: b, run: () => this.bundle(b) };
    if (a === 'recordings' && !b) {
      const cam = q.get('camera') ?? '';
      return { need: 'view', action: 'view:recordings', subject: `${cam} ${q.get('from')}-${q.get('to')}`, run: () => this.json(this.recordings(cam, timeParam(q, 'from'), timeParam(q, 'to'))) };
    }
    if (a === 'clip' && !b) {
      const cam = q.get('camera') ?? '';
      const part = q.get('part') === 'manifest' ? 'manifest' : 'video';
      return { need: 'export', action: `export:clip-${part}`, subject: `${cam} ${q.get('from')}-${q.get('to')}`, run: () => this.clip(cam, timeParam(q, 'from'), timeParam(q, 'to'), part) };
    }
    if (a === 'segment' && b && /^\d+$/.test(b) && !c) return { need: 'view', action: 'playback', subject: `segment ${b}`, run: () => this.segment(Number(b)) };
    if (a === 'face' && b && /^\d{1,15}$/.test(b) && !c) return { need: 'faces', action: 'view:face', subject: `match ${b}`, run: () => this.face(Number(b)) };
    if (a === 'box' && !b) return { need: 'box', action: 'view:box', subject: '', run: async () => this.json(await this.box()) };
    if (a === 'access' && !b) return { need: 'audit', action: 'view:access', subject: '', run: () => this.json(new ConsoleRepo(this.ctx.store).access(0, 500)) };
    return undefined;
  }

  private json(body: unknown): Output {
    return { kind: 'json', body };
  }

  private cameras() {
    const known = new Set(this.ctx.cfg.cameras.map((c) => c.id));
    let dirs: string[] = [];
    try {
      dirs = fs
        .readdirSync(this.ctx.paths.video, { withFileTypes: true })
        .filter((e) => e.isDirectory() && ID.test(e.name))
        .map((e) => e.name);
    } catch {
      /* no video yet */
    }
    const repo = new RecordingRepo(this.ctx.store);
    return [...new Set([...known, ...dirs])].sort().map((id) => {
      const cfg = this.ctx.cfg.cameras.find((c) => c.id === id);
      const last = repo.lastSegment(id);
      return { id, name: cfg?.name ?? id, configured: known.has(id), lastSegmentEnd: last?.end_ms ?? null, openGap: repo.openGapOf(id) ?? null };
    });
  }

  private recordings(camera: string, from: number, to: number) {
    if (!ID.test(camera)) throw bad('camera', 'unknown camera / 未知摄像头');
    if (to <= from || to - from > 7 * 86_400_000) throw bad('to', 'the range must be positive and at most 7 days / 时间范围须为正且不超过 7 天');
    const repo = new RecordingRepo(this.ctx.store);
    const cov = repo.coverage(camera, { start: from, end: to }, this.ctx.profile.continuityToleranceSeconds * 1000);
    const segments = repo.segments(camera, { start: from, end: to }).map((s) => {
      let head: ReturnType<typeof segmentHead> = { firstDts: 0, codec: null };
      try {
        head = segmentHead(s.path);
      } catch {
        /* file missing: the player will show the fetch failure */
      }
      return { id: s.id, start: s.start_ms, end: s.end_ms, ...head };
    });
    return { camera, from, to, segments, gaps: shown(cov.uncovered, this.ctx.profile.continuityToleranceSeconds * 1000), recordedMs: cov.recordedMs, longestContinuousMs: cov.longestContinuousMs };
  }

  private segment(id: number): Output {
    const s = new ConsoleViews(this.ctx.store).segment(id);
    if (!s) throw notFound('no such recording / 无此录像');
    // only files under the video folder are ever served, whatever the database says
    const file = path.resolve(s.path);
    if (!file.startsWith(path.resolve(this.ctx.paths.video) + path.sep)) throw notFound('recording outside the video folder / 录像不在录像目录中');
    return { kind: 'file', file, type: 'video/mp4' };
  }

  /**
   * A clip of a range with its manifest: `export-video`'s own function (stream copy across
   * segments, gaps listed, SHA-256 of every source and of the clip). Exported once per range
   * into the state folder and served from there for both parts; older clips are removed.
   */
  private async clip(camera: string, from: number, to: number, part: 'video' | 'manifest'): Promise<Output> {
    if (!ID.test(camera)) throw bad('camera', 'unknown camera / 未知摄像头');
    if (to <= from || to - from > 4 * 3_600_000) throw bad('to', 'a clip is at most 4 hours / 片段最长 4 小时');
    const dir = path.join(this.ctx.paths.state, 'console-clips');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(dir)) {
      const p = path.join(dir, f);
      if (this.ctx.now() - fs.statSync(p).mtimeMs > 3_600_000) fs.rmSync(p, { force: true });
    }
    const name = `${camera}_${from}_${to}.mp4`;
    const out = path.join(dir, name);
    if (!fs.existsSync(manifestPathOf(out))) {
      try {
        await exportVideo({ repo: new RecordingRepo(this.ctx.store), camera, from, to, out, ffmpegPath: this.ctx.cfg.recorder.ffmpegPath, now: this.ctx.now });
      } catch (err) {
        if (err instanceof ExportError) throw err.kind === 'nothing recorded' ? notFound(`${err.message} / 此时段没有录像`) : bad('clip', `${err.message} / 导出失败`);
        throw err;
      }
    }
    if (part === 'manifest') return { kind: 'download', type: 'application/json; charset=utf-8', filename: `${name}.manifest.json`, body: fs.readFileSync(manifestPathOf(out)) };
    return { kind: 'file', file: out, type: 'video/mp4', filename: name };
  }

  /**
   * A sighting's matched face crop, opened with vision's key for this one answer (never written
   * out decrypted). Who may ask and whether the school enabled it is decided in server.ts.
   */
  private face(matchId: number): Output {
    const crop = new FaceRepo(this.ctx.store).matchCrop(matchId);
    if (!crop) throw notFound('no face image for this sighting (none kept, expired, or consent withdrawn) / 此出镜记录没有人脸截图（未保存、已过期或已撤回同意）');
    // the console never creates the face key (vision's, wherever it lives): without it there is nothing it could open
    if (!fs.existsSync(resolveFaceKey(this.ctx.cfg).file)) throw notFound('the face key file is missing: the crop cannot be opened / 人脸密钥文件缺失，无法打开截图');
    try {
      return { kind: 'inline', type: 'image/jpeg', body: openCrop(loadFaceKey(this.ctx.cfg), crop, matchId) };
    } catch {
      throw notFound('the face crop cannot be opened (the face key was replaced, or the row was altered) / 人脸截图无法解密（密钥已更换或数据被改动）');
    }
  }

  private evidence(classId: string) {
    const ev = new ClassRepo(this.ctx.store).evidence(classId);
    if (!ev) throw notFound(`unknown class ${classId} / 未知班次`);
    return ev;
  }

  private verdict(classId: string): { ev: ReturnType<ConsoleApi['evidence']>; verdict: Verdict } {
    const ev = this.evidence(classId);
    return { ev, verdict: evaluate(ev, loadProfile(ev.profile ?? this.ctx.cfg.profile)) };
  }

  private classPage(classId: string) {
    const { ev, verdict } = this.verdict(classId);
    const views = new ConsoleViews(this.ctx.store);
    const names = views.traineeNames(classId);
    const from = ev.lessons.length ? Math.min(...ev.lessons.map((l) => l.start)) - 3_600_000 : 0;
    const to = ev.lessons.length ? Math.max(...ev.lessons.map((l) => l.end)) : 0;
    const checkins = views.checkinsBetween(classId, from, to);
    // match ids only; the page asks /api/face/<id> when the school shows faces and the role may see them
    const crops = views.cropMatches(classId);
    const sightings = ev.class.trainees.map((t) => {
      const s = ev.sightings.filter((x) => x.trainee === t.id);
      const lessons = ev.lessons.filter((l) => s.some((x) => x.at >= l.start && x.at < l.end)).map((l) => l.id);
      return { trainee: t.id, name: names.get(t.id) ?? null, count: s.length, first: s[0]?.at ?? null, last: s[s.length - 1]?.at ?? null, lessons, crop: crops.get(t.id) ?? null };
    });
    return {
      class: new ClassRepo(this.ctx.store).get(classId),
      roster: ev.class.trainees.map((t) => ({ id: t.id, name: names.get(t.id) ?? null })),
      teachers: ev.class.teachers,
      lessons: ev.lessons,
      checkins: checkins.filter((c) => c.trainee !== null),
      unknown: checkins.filter((c) => c.trainee === null),
      sightings,
      verdict,
    };
  }

  /** One lesson: runs and gaps per camera, check-ins, sightings, alarms and the rule-by-rule verdict. */
  private timeline(classId: string, lessonId: string) {
    const { ev, verdict } = this.verdict(classId);
    const lesson = ev.lessons.find((l) => l.id === lessonId);
    if (!lesson) throw notFound(`unknown lesson ${lessonId} / 未知课时`);
    const profile = loadProfile(ev.profile ?? this.ctx.cfg.profile);
    const views = new ConsoleViews(this.ctx.store);
    const names = views.traineeNames(classId);
    const repo = new RecordingRepo(this.ctx.store);
    const w = { start: lesson.start, end: Math.min(lesson.end, Math.max(lesson.start, this.ctx.now())) };
    const cams = lesson.cameras.length ? lesson.cameras : [...new Set([...this.ctx.cfg.cameras.map((c) => c.id), ...ev.recordings.map((r) => r.camera)])];
    const cameras = cams.map((c) => {
      const tol = profile.continuityToleranceSeconds * 1000;
      const cov = repo.coverage(c, w, tol);
      return { camera: c, runs: union(cov.recorded, tol), gaps: shown(cov.uncovered, tol), recordedMs: cov.recordedMs, longestContinuousMs: cov.longestContinuousMs };
    });
    const sightings = ev.sightings.filter((s) => s.at >= lesson.start && s.at < lesson.end).map((s) => ({ ...s, name: names.get(s.trainee) ?? null }));
    const seen = [...new Set(sightings.map((s) => s.trainee))];
    const margin = 30 * 60_000;
    const checkins = views.checkinsBetween(classId, lesson.start - margin, lesson.end + margin).map((c) => ({ ...c, name: c.trainee ? (names.get(c.trainee) ?? null) : null }));
    const crops = views.cropMatches(classId, lessonId);
    const onLesson = (f: { lesson?: string }) => f.lesson === lessonId || f.lesson === undefined;
    return {
      classId,
      lesson,
      requiredContinuousMs: profile.rules['practical-continuous-video'].minMinutes * 60_000,
      cameras,
      checkins,
      sightings,
      seen: seen.map((id) => ({ id, name: names.get(id) ?? null, first: sightings.find((s) => s.trainee === id)!.at, crop: crops.get(id) ?? null })),
      unseen: ev.class.trainees.filter((t) => !seen.includes(t.id)).map((t) => ({ id: t.id, name: names.get(t.id) ?? null })),
      alarms: views.alarmsBetween(lesson.start, lesson.end),
      result: verdict.lessons.find((l) => l.id === lessonId) ?? null,
      violations: verdict.violations.filter(onLesson),
      warnings: verdict.warnings.filter(onLesson),
      eligible: verdict.eligible,
    };
  }

  private bundle(classId: string): Output {
    const ev = this.evidence(classId);
    const tz = loadProfile(ev.profile ?? this.ctx.cfg.profile).timezone;
    return { kind: 'download', type: 'application/json; charset=utf-8', filename: `evidence-${classId}.json`, body: `${JSON.stringify(toBundle(ev, tz), null, 1)}\n` };
  }

  private async box() {
    // the doctor probes cameras, terminals and the broker: once per half minute is enough
    if (!this.doctorCache || this.ctx.now() - this.doctorCache.at > 30_000) {
      this.doctorCache = { at: this.ctx.now(), results: runDoctor(doctorEnv({ cfg: this.ctx.cfg, now: this.ctx.now() })) };
    }
    return {
      box: { id: this.ctx.cfg.box.id, name: this.ctx.cfg.box.name ?? null, room: this.ctx.cfg.box.room },
      doctor: await this.doctorCache.results,
      terminals: new CheckinRepo(this.ctx.store).states(),
      backlog: new Outbox(this.ctx.store).backlog(),
    };
  }
}
