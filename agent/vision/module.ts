import type { AgentContext } from '../core/context.js';
import type { Module } from '../core/module.js';
import { AlarmRepo } from '../store/alarms.js';
import { ClassRepo } from '../store/classes.js';
import { FaceRepo, type FrameMatch, type SegmentRef } from '../store/faces.js';
import { FacePool } from './pool.js';
import { cropFace, streamVideo } from './frames.js';
import { loadGallery, sealCrop } from './gallery.js';
import { loadFaceKey } from './keysource.js';
import type { GalleryEntry } from './match.js';
import { trackSegment, type OpenTrack } from './tracks.js';
import type { Analysis } from './client.js';
import { FocusPlanner } from './focus.js';

export type { SegmentRef };

export interface SegmentResult {
  frames: number;
  analysed: number;
  sightings: number;
  trainees: string[];
  unknownFaces: number;
}

/**
 * Who is on camera. Listens for segments the recorder has just closed and indexed, so every
 * sighting points at video that exists (recording id + offset); analyses only frames that fall
 * inside a lesson on that camera, against that lesson's class roster only. Once a segment's
 * frames are analysed, faces are followed across its frames and on from the camera's previous
 * segment (tracks.ts); a track is identified from its best frames, and its frames are stored
 * as matches with their box, distance, margin and track; headcounts count every face found;
 * sightings are written once K frames agree; announces 'sightings.stored'.
 * The face model runs in a worker thread; this module owns it and nothing else does.
 */
export class VisionModule implements Module {
  readonly name = 'vision';
  private worker?: FacePool;
  private queue: SegmentRef[] = [];
  private running?: Promise<void>;
  private abort?: AbortController;
  private key?: Buffer;
  /** per camera and class: the tracks open at the last analysed frame, carried into the next segment */
  private openTracks = new Map<string, { lastAt: number; tracks: OpenTrack[] }>();
  private trackSeq = 0;
  /** per camera: full tiled search or focus regions for its next frame (focus.ts) */
  private planner?: FocusPlanner;

  constructor(
    private ctx: AgentContext,
    private opts: { catchUpHours?: number } = {},
  ) {}

  async start(): Promise<void> {
    const v = this.ctx.cfg.vision;
    if (!v.enabled) {
      this.ctx.log.info('vision disabled');
      return;
    }
    this.key = loadFaceKey(this.ctx.cfg);
    this.abort = new AbortController();
    this.planner = new FocusPlanner({ fullEvery: v.fullScanEvery, sampleEveryMs: v.sampleEverySeconds * 1000 });
    this.worker = new FacePool(
      { backend: v.backend, minConfidence: v.minConfidence, minFaceSize: v.minFaceSize, tileSize: v.tileSize, tileOverlap: v.tileOverlap, recycleAfterFrames: v.recycleAfterFrames, log: this.ctx.log },
      v.threads,
    );
    // listen first: segments indexed while the model loads are queued, not lost
    this.ctx.bus.on(this, 'segment.indexed', (s) => this.enqueue(s));
    // segments indexed while vision was down (daemon restart, crash): analyse them too
    for (const s of this.unanalysed(this.ctx.now() - (this.opts.catchUpHours ?? 24) * 3600_000)) this.enqueue(s);
    const alarms = new AlarmRepo(this.ctx.store);
    try {
      const info = await this.worker.start();
      this.ctx.log.info({ backend: info.backend, fallbackReason: info.fallbackReason, model: info.model }, 'vision ready');
      if (alarms.clear('vision.unavailable', 'box')) this.ctx.bus.emit('alarm.cleared', { kind: 'vision.unavailable', subject: 'box', at: this.ctx.now() });
    } catch (err) {
      // the rest of the daemon (recording, check-ins) must keep working; the technician sees an alarm
      const message = `face recognition unavailable: ${(err as Error).message}`;
      this.ctx.log.error({ err: (err as Error).message }, 'vision unavailable');
      if (alarms.raise('vision.unavailable', 'box', message)) this.ctx.bus.emit('alarm.raised', { kind: 'vision.unavailable', subject: 'box', message, at: this.ctx.now() });
    }
  }

  async stop(): Promise<void> {
    this.ctx.bus.removeListeners(this);
    this.queue = [];
    this.abort?.abort();
    await this.running?.catch(() => undefined);
    await this.worker?.stop();
    this.worker = undefined;
  }

  enqueue(s: SegmentRef): void {
    this.queue.push(s);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Resolves when every queued segment has been analysed (tests, CLI). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    for (let s = this.queue.shift(); s; s = this.queue.shift()) {
      try {
        await this.processSegment(s);
      } catch (err) {
        this.ctx.log.error({ recording: s.id, camera: s.camera, err: (err as Error).message }, 'vision failed on segment');
      }
    }
  }

  async processSegment(s: SegmentRef): Promise<SegmentResult> {
    const v = this.ctx.cfg.vision;
    const classes = new ClassRepo(this.ctx.store);
    const faces = new FaceRepo(this.ctx.store);
    // the lessons this camera films: listed on the lesson, or (lesson lists no camera) in this box's room
    const inRoom = (l: { classId: string; room: string | null }) => {
      const room = l.room ?? classes.get(l.classId)?.room ?? null;
      return room === null || room === this.ctx.cfg.box.room;
    };
    const lessons = classes.lessonsBetween(s.start, s.end).filter((l) => l.kind !== 'online' && (l.cameras.length ? l.cameras.includes(s.camera) : inRoom(l)));
    const res: SegmentResult = { frames: 0, analysed: 0, sightings: 0, trainees: [], unknownFaces: 0 };
    if (!lessons.length || !this.worker || !this.key) return res; // no lesson on this camera: nothing to prove, no faces looked at
    const info = await this.worker.start();
    const galleries = new Map<string, GalleryEntry[]>();
    const galleryOf = (classId: string) => {
      let g = galleries.get(classId);
      if (!g) galleries.set(classId, (g = loadGallery(faces, this.key!, faces.roster(classId), info.model)));
      return g;
    };
    const seen = new Set<string>();
    const threshold = v.cameraThresholds[s.camera] ?? v.threshold;
    // the segment's analysed frames (boxes and descriptors only), decided together once the
    // segment is done: a face is identified from its track, not from one frame (tracks.ts)
    const analysed: { offsetMs: number; at: number; on: typeof lessons; faces: Analysis['faces'] }[] = [];
    const record = (frame: { offsetMs: number }, at: number, on: typeof lessons, a: Analysis) => {
      res.analysed++;
      analysed.push({ offsetMs: frame.offsetMs, at, on, faces: a.faces });
    };
    // per (lesson, trainee): the best-matching face of this segment, whose crop a reviewer sees
    const best = new Map<string, FrameMatch>();
    const decide = () => {
      analysed.sort((x, y) => x.offsetMs - y.offsetMs);
      for (const classId of new Set(lessons.map((l) => l.classId))) {
        const mine = analysed.filter((f) => f.on.some((l) => l.classId === classId));
        const key = `${s.camera}|${classId}`;
        // tracks continue from the camera's previous segment when this one follows it closely
        const prev = this.openTracks.get(key);
        const carried = prev && mine.length && s.start + mine[0]!.offsetMs - prev.lastAt <= 2.5 * v.sampleEverySeconds * 1000 ? prev.tracks : [];
        const t = trackSegment(mine, galleryOf(classId), { threshold, margin: v.margin, minFrames: v.minFrames }, carried, () => `${s.id}.${++this.trackSeq}`);
        if (mine.length) this.openTracks.set(key, { lastAt: mine.at(-1)!.at, tracks: t.open });
        mine.forEach((f, i) => {
          for (const l of f.on.filter((x) => x.classId === classId)) {
            const rows: FrameMatch[] = [];
            t.attributions[i]!.forEach((m, j) => {
              if (m)
                rows.push({
                  classId,
                  lessonId: l.id,
                  trainee: m.trainee,
                  camera: s.camera,
                  at: f.at,
                  recordingId: s.id,
                  offsetMs: f.offsetMs,
                  distance: m.distance,
                  margin: m.margin,
                  box: f.faces[j]!.box,
                  track: m.track,
                });
            });
            // the headcount: every face found, identifiable or not
            const unknown = f.faces.length - rows.length;
            const small = f.faces.filter((x) => !x.descriptor).length;
            res.unknownFaces += unknown;
            for (const r of rows) {
              const k = `${r.lessonId}|${r.trainee}`;
              if (!best.has(k) || r.distance < best.get(k)!.distance) best.set(k, r);
            }
            const written = faces.recordFrame(
              { camera: s.camera, at: f.at, recordingId: s.id, offsetMs: f.offsetMs, classId, lessonId: l.id, faces: f.faces.length, matched: rows.length, unknown, small },
              rows,
              v.minFrames,
            );
            res.sightings += written.length;
            for (const w of written) seen.add(w.trainee);
          }
        });
      }
    };
    // up to one frame in flight per analysis thread; results are collected as they come back
    // and put in time order before the tracks are followed
    const inflight = new Set<Promise<void>>();
    let failed: Error | undefined;
    await streamVideo(
      s.path,
      v.sampleEverySeconds,
      v.frameWidth,
      async (frame) => {
        if (failed) throw failed;
        res.frames++;
        const at = s.start + frame.offsetMs;
        const on = lessons.filter((l) => l.start <= at && at < l.end && at < s.end);
        if (!on.length) return;
        const offsetMs = frame.offsetMs;
        const plan = this.planner!.plan(s.camera, at);
        const p: Promise<void> = this.worker!.analyze(frame, plan).then(
          (a) => {
            inflight.delete(p);
            try {
              this.planner!.observe(s.camera, at, plan, a);
              record({ offsetMs }, at, on, a);
            } catch (err) {
              failed ??= err as Error;
            }
          },
          (err: Error) => {
            inflight.delete(p);
            failed ??= err;
          },
        );
        inflight.add(p);
        if (inflight.size >= this.worker!.size) await Promise.race(inflight);
      },
      this.abort?.signal,
      { ffmpegPath: this.ctx.cfg.recorder.ffmpegPath },
    );
    await Promise.all(inflight);
    if (failed) throw failed;
    decide();
    if (v.keepCrops) await this.keepCrops(s, [...best.values()]);
    res.trainees = [...seen].sort();
    this.ctx.log.info({ recording: s.id, camera: s.camera, frames: res.frames, analysed: res.analysed, sightings: res.sightings, unknownFaces: res.unknownFaces }, 'segment analysed');
    this.ctx.bus.emit('sightings.stored', { camera: s.camera, recordingId: s.id, trainees: res.trainees, unknownFaces: res.unknownFaces });
    return res;
  }

  /** Seal and store the crop of each best match (failures are logged: the sighting stands without it). */
  private async keepCrops(s: SegmentRef, matches: FrameMatch[]): Promise<void> {
    const faces = new FaceRepo(this.ctx.store);
    for (const m of matches) {
      const id = faces.matchId(s.id, m.offsetMs!, m.lessonId, m.trainee);
      if (id === undefined || !m.box || !faces.hasConsent(m.trainee)) continue;
      try {
        const jpeg = await cropFace(s.path, m.offsetMs!, this.ctx.cfg.vision.frameWidth, m.box, { ffmpegPath: this.ctx.cfg.recorder.ffmpegPath });
        faces.addMatchCrop(id, m.trainee, sealCrop(this.key!, m.trainee, id, jpeg));
      } catch (err) {
        this.ctx.log.warn({ recording: s.id, err: (err as Error).message }, 'face crop not kept');
      }
    }
  }

  /** Recordings since `from` that no frame analysis refers to (segments outside lessons are skipped cheaply). */
  private unanalysed(from: number): SegmentRef[] {
    if (!(this.opts.catchUpHours ?? 24)) return [];
    return new FaceRepo(this.ctx.store).unanalysedRecordings(from);
  }

  /** For `vision status` and doctor: the backend and model in use. */
  status() {
    return this.worker?.info;
  }
}
