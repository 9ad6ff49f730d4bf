import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { AgentContext } from '../core/context.js';
import type { CameraConfig } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import { maskUrl } from '../core/log.js';
import { CameraError } from '../cameras/errors.js';
import { recordArgs } from '../ffmpeg/args.js';
import { spawnRecording } from '../ffmpeg/run.js';
import type { AlarmRepo } from '../store/alarms.js';
import type { GapReason, GapRow, RecordingRepo } from '../store/recordings.js';
import { Backoff } from '../core/backoff.js';
import { freeBytes } from '../retention/disk.js';
import { isDiskFullText } from './disk.js';
import { inspectFmp4 } from './fmp4.js';
import { rtspAnswers } from './reachability.js';
import { describeCut, recoverSegments } from './recovery.js';
import { sha256File } from '../core/hash.js';
import { ListTail, type RunState, isRecording, lastLine, maskSecrets, readRunState, signal, tailText, waitGone, writeRunState } from './runstate.js';
import { errFileOf, listFileOf, parseCsvLine, runDir, runPattern, segmentPath } from './segments.js';
import type { Interval } from '../compliance/intervals.js';
import { expectedWithin } from './schedule.js';
import { Ticker, recorderTickMs } from './ticker.js';

export interface RunResult {
  runId: number;
  startedAt: number;
  reason: GapReason;
  detail: string;
  exitCode: number | null;
  segments: number;
  lastEnd: number | null;
}

export interface CameraStats {
  camera: string;
  state: 'starting' | 'recording' | 'backoff' | 'stopped';
  runs: number;
  restarts: number;
  segments: number;
  lastSegmentEnd: number | null;
  /** closing of the segment by ffmpeg → row committed, ms, one per segment indexed live */
  indexLatencies: number[];
  lastIndexLatency?: { path: string; ms: number };
  ffmpegPid?: number;
  /** since when the current ffmpeg records (ms), adopted ones included */
  recordingSince?: number;
}

const sleep = (ms: number, wake: { fn?: () => void }) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    wake.fn = () => {
      clearTimeout(t);
      resolve();
    };
  });

/** Gap reasons that mean the camera itself cannot be recorded (alarm 'camera-offline'). */
const OFFLINE = new Set<string>(['camera unreachable', 'auth failed', 'stream stalled', 'config error']);

/** The ffmpeg being watched: spawned by this life (child) or adopted from the previous one. */
interface LiveRun extends RunState {
  child?: ChildProcess;
  exited: boolean;
  interrupted: boolean;
  /** lines of the list read so far = number of the segment being written */
  listed: number;
  /** wall-clock time of media time 0, see indexListed */
  anchor: number;
  /** end of the last segment of the list (indexed now or earlier) */
  prevEnd?: number;
  segments: number;
  lastEnd: number | null;
}

/**
 * One camera's recording: a supervised ffmpeg (one run per ffmpeg life) whose segment list is
 * a file, tailed and indexed the moment each segment closes; a watchdog on the bytes written;
 * gaps with reasons between runs. The ffmpeg outlives this object's process: a restarted agent
 * adopts it (pid and files from `.ffmpeg.json`), so an agent crash costs no video.
 */
export class CameraRecorder {
  readonly stats: CameraStats;
  private stopping = false;
  /** stopping because the camera's recording window ended: no gap, the run ends 'not scheduled' */
  private pausing = false;
  /** start of the window being recorded: no gap starts before it (before it, nothing was expected) */
  private expectedSince = -Infinity;
  /** recording (or trying to): between start() and stop()/pause() */
  active = false;
  private current?: LiveRun;
  private loopDone?: Promise<void>;
  private wake: { fn?: () => void } = {};
  private log: Logger;
  private readonly cameraDir: string;
  private readonly stateFile: string;
  /** the settings an adopted ffmpeg must have been started with */
  private readonly fingerprint: string;

  constructor(
    private ctx: AgentContext,
    private cam: CameraConfig,
    private repo: RecordingRepo,
    private alarms: AlarmRepo,
    private resolveUrl: () => Promise<string>,
    private heartbeatFile: string,
    /** the recorder's shared timer (one wake-up per tick for all cameras) */
    private ticker: Ticker = new Ticker(recorderTickMs(ctx.cfg.recorder.stallSeconds)),
  ) {
    this.log = ctx.log.child({ camera: cam.id });
    this.cameraDir = path.join(ctx.paths.video, cam.id);
    this.stateFile = path.join(this.cameraDir, '.ffmpeg.json');
    const rc = ctx.cfg.recorder;
    this.fingerprint = createHash('sha256')
      .update(JSON.stringify([cam, rc.segmentSeconds, rc.stallSeconds, rc.ffmpegPath ?? '']))
      .digest('hex')
      .slice(0, 16);
    this.stats = { camera: cam.id, state: 'stopped', runs: 0, restarts: 0, segments: 0, lastSegmentEnd: null, indexLatencies: [] };
  }

  private get rc() {
    return this.ctx.cfg.recorder;
  }

  /**
   * Start recording (the camera's window opened, or the agent started inside it). What the
   * previous life left is taken over first; gaps still open are cut to the windows in which
   * recording was expected (`windows`, omitted for `always`), then no new gap starts before
   * `windowStart`.
   */
  async start(windowStart = -Infinity, windows?: readonly Interval[]): Promise<void> {
    this.stopping = false;
    this.pausing = false;
    this.active = true;
    this.expectedSince = -Infinity;
    fs.mkdirSync(this.cameraDir, { recursive: true });
    const adopted = await this.takeOver();
    if (windows) this.settleGap(windows, this.ctx.now(), true);
    this.expectedSince = windowStart;
    this.loopDone = this.loop(adopted).catch((err) => this.log.error({ err: (err as Error).message }, 'recorder loop failed'));
  }

  /**
   * The camera's window ended (or the agent started outside it): the clean stop (one SIGINT, the
   * open segment closed and indexed), no gap for the time not recorded; a gap still open is
   * closed where recording stopped being expected. An ffmpeg the previous life left recording
   * is adopted only to be stopped so.
   */
  async pause(windows: readonly Interval[]): Promise<void> {
    this.stopping = true;
    this.pausing = true;
    this.wake.fn?.();
    if (this.active) {
      this.interrupt();
      await this.loopDone;
    } else {
      fs.mkdirSync(this.cameraDir, { recursive: true });
      const adopted = await this.takeOver();
      if (adopted) {
        const done = this.loop(adopted);
        this.interrupt(); // watch() has set this.current synchronously
        await done;
      }
    }
    this.active = false;
    this.settleGap(windows, this.ctx.now(), false);
    this.setState('stopped', 'not scheduled');
  }

  /**
   * Cut the camera's open gap to the windows: a gap is a hole only where recording was expected.
   * The gap keeps its start; it ends where its first window ends; each later window up to `now`
   * missed for the same cause becomes a gap of its own; the last one stays open when the camera
   * is inside a window now (its next segment closes it).
   */
  private settleGap(windows: readonly Interval[], now: number, onNow: boolean): void {
    const g = this.repo.openGapOf(this.cam.id);
    if (!g) return;
    const parts = expectedWithin(windows, g.start_ms, now);
    if (!parts.length) {
      this.emitClosed(this.repo.closeGap(this.cam.id, g.start_ms));
      return;
    }
    parts.forEach((p, i) => {
      if (i > 0) this.repo.openGap(this.cam.id, p.start, g.reason as GapReason, g.detail ?? undefined);
      const ongoing = onNow && i === parts.length - 1 && p.end >= now;
      if (!ongoing) this.emitClosed(this.repo.closeGap(this.cam.id, p.end));
    });
  }

  /** SIGINT to ffmpeg so it closes the open segment; index it; open the 'agent stopped' gap. */
  async stop(): Promise<void> {
    if (!this.active) return; // outside its window: nothing recording, nothing expected
    this.active = false;
    this.stopping = true;
    this.pausing = false;
    this.wake.fn?.();
    this.interrupt();
    await this.loopDone;
    const now = this.ctx.now();
    const open = this.repo.openGapOf(this.cam.id);
    if (open && open.reason !== 'agent stopped') {
      // the earlier cause ends here; from now on the camera is unrecorded because we stopped
      this.emitClosed(this.repo.closeGap(this.cam.id, now));
      this.openGap(now, 'agent stopped', '');
    }
    if (!this.repo.openGapOf(this.cam.id)) this.openGap(this.stats.lastSegmentEnd ?? now, 'agent stopped', '');
    this.setState('stopped');
  }

  /** The one stop signal: SIGINT (ffmpeg closes its segment), SIGKILL only if it is still there after stopTimeoutMs. */
  private interrupt(): void {
    const run = this.current;
    if (!run || run.exited || run.interrupted) return;
    run.interrupted = true;
    signal(run.pid, 'SIGINT');
    setTimeout(() => {
      if (!run.exited) signal(run.pid, 'SIGKILL');
    }, this.rc.stopTimeoutMs).unref();
  }

  private setState(state: CameraStats['state'], detail?: string): void {
    if (this.stats.state === state) return;
    this.stats.state = state;
    this.ctx.bus.emit('camera.status', { camera: this.cam.id, state, detail });
  }

  private openGap(start: number, reason: GapReason, detail: string): void {
    start = Math.max(start, this.expectedSince);
    const { gap, created } = this.repo.openGap(this.cam.id, start, reason, detail || undefined);
    if (created) {
      this.log.warn({ start, reason, detail }, 'recording gap opened');
      this.ctx.bus.emit('recording.gap', { camera: this.cam.id, start: gap.start_ms, end: null, reason });
    }
    // the camera-offline alarm, at any time of day (not only during lessons): a camera that
    // cannot be recorded is raised when its gap opens, cleared by its next segment
    if (OFFLINE.has(reason)) {
      const at = this.ctx.now();
      const message = `camera ${this.cam.id} not recorded: ${reason}${detail ? ` (${detail.slice(0, 200)})` : ''}`;
      if (this.alarms.raise('camera-offline', this.cam.id, message, at)) this.ctx.bus.emit('alarm.raised', { kind: 'camera-offline', subject: this.cam.id, message, at });
    }
  }

  private emitClosed(g: GapRow | undefined): void {
    if (!g || g.end_ms === null) return;
    if (OFFLINE.has(g.reason) && this.alarms.clear('camera-offline', this.cam.id)) this.ctx.bus.emit('alarm.cleared', { kind: 'camera-offline', subject: this.cam.id, at: this.ctx.now() });
    this.log.info({ start: g.start_ms, end: g.end_ms, reason: g.reason }, 'recording gap closed');
    this.ctx.bus.emit('recording.gap', { camera: this.cam.id, start: g.start_ms, end: g.end_ms, reason: g.reason });
  }

  /**
   * What the previous life left: an ffmpeg still recording (adopted: no gap, its segments
   * indexed from its list file), or one that ended while no agent watched (its listed segments
   * indexed, cut files recovered, a gap from its last second with what ended it).
   */
  private async takeOver(): Promise<RunState | undefined> {
    const st = readRunState(this.stateFile);
    if (st && isRecording(st)) {
      if (st.fingerprint === this.fingerprint) {
        this.log.info({ pid: st.pid, runId: st.runId }, 'adopting the ffmpeg that kept recording while the agent was away');
        return st;
      }
      // the camera's settings changed meanwhile: end that recording cleanly, then start anew
      this.log.info({ pid: st.pid, runId: st.runId }, 'camera settings changed: stopping the ffmpeg left recording with the old ones');
      signal(st.pid, 'SIGINT');
      await waitGone(st, this.rc.stopTimeoutMs);
    }
    const recovered = await this.recover();
    for (const run of this.repo.openRuns(this.cam.id)) {
      const mine = st?.runId === run.id ? st : undefined;
      if (mine) await this.indexListed(mine, new ListTail(mine.listFile), { live: false });
      const got = await this.recover();
      const segs = this.repo.segmentsOfRun(run.id).filter((s) => s.end_ms > s.start_ms);
      const lastEnd = segs.length ? Math.max(...segs.map((s) => s.end_ms)) : run.started_ms;
      const why = mine ? lastLine(mine.errFile) : '';
      this.repo.endRun(run.id, lastEnd, 'agent crashed', null);
      this.stats.lastSegmentEnd = Math.max(this.stats.lastSegmentEnd ?? 0, lastEnd);
      const cuts = [...recovered.cuts, ...got.cuts].map(describeCut);
      this.openGap(
        lastEnd,
        'agent crashed',
        [`run ${run.id} ended while no agent watched it (power cut, or ffmpeg stopped)`, why && `ffmpeg said: ${maskSecrets(why)}`, ...cuts].filter(Boolean).join('; '),
      );
    }
    fs.rmSync(this.stateFile, { force: true });
    const last = this.repo.lastSegment(this.cam.id);
    if (last) this.stats.lastSegmentEnd = Math.max(this.stats.lastSegmentEnd ?? 0, last.end_ms);
    return undefined;
  }

  private async recover(dir = this.cameraDir, skip?: (f: string) => boolean) {
    const r = await recoverSegments({ camera: this.cam.id, cameraDir: dir, repo: this.repo, log: this.log, now: this.ctx.now, skip });
    for (const x of r.recovered) {
      this.emitClosed(x.closedGap);
      this.ctx.bus.emit('segment.indexed', { id: x.id, camera: this.cam.id, path: x.path, start: x.start, end: x.end, bytes: x.bytes });
      this.stats.segments++;
      if (x.end > x.start) this.stats.lastSegmentEnd = Math.max(this.stats.lastSegmentEnd ?? 0, x.end);
    }
    return r;
  }

  private diskFull(): boolean {
    return freeBytes(this.ctx.paths.video) < this.rc.minFreeBytes;
  }

  /**
   * Wait until space returns: above minFreeBytes and, after a real ENOSPC, at least 1 MiB more
   * than when the write failed (so a disk that is still full does not restart ffmpeg in a loop).
   */
  private async waitForDisk(freeAtFailure = -Infinity): Promise<void> {
    const subject = this.ctx.paths.video;
    this.openGap(this.stats.lastSegmentEnd ?? this.ctx.now(), 'disk full', `free space below ${this.rc.minFreeBytes} bytes`);
    const at = this.ctx.now();
    if (this.alarms.raise('disk-full', subject, `video disk full: recording of ${this.cam.id} stopped`, at)) {
      this.ctx.bus.emit('alarm.raised', { kind: 'disk-full', subject, message: 'video disk full', at });
    }
    this.setState('backoff', 'disk full');
    const enough = () => !this.diskFull() && freeBytes(this.ctx.paths.video) >= freeAtFailure + 1024 * 1024;
    while (!this.stopping && !enough()) await sleep(1000, this.wake);
    this.log.info({ free: freeBytes(this.ctx.paths.video) }, 'disk space returned');
    if (!this.stopping && this.alarms.clear('disk-full', subject)) {
      this.ctx.bus.emit('alarm.cleared', { kind: 'disk-full', subject, at: this.ctx.now() });
    }
  }

  private async loop(adopted?: RunState): Promise<void> {
    const backoff = new Backoff(this.rc.backoffInitialMs, this.rc.backoffMaxMs);
    let gate = false;
    if (adopted) {
      const r = await this.watch(this.live(adopted), '');
      this.afterRun(r, backoff);
      if (r.reason === 'camera unreachable') gate = true;
    }
    while (!this.stopping) {
      if (this.diskFull()) {
        await this.waitForDisk();
        continue;
      }
      let url: string;
      try {
        url = await this.resolveUrl();
      } catch (err) {
        // the kind comes from where it happened, never guessed from the message
        const msg = (err as Error).message;
        const reason: GapReason = err instanceof InputError ? 'config error' : err instanceof CameraError && err.kind === 'auth' ? 'auth failed' : 'camera unreachable';
        this.openGap(this.stats.lastSegmentEnd ?? this.ctx.now(), reason, msg);
        this.setState('backoff', msg);
        await sleep(reason === 'camera unreachable' ? Math.max(this.rc.reconnectPollMs, 2000) : backoff.next(), this.wake);
        continue;
      }
      // why a gate: an absent camera is asked cheaply and often, so it is recorded again within
      // about a second of its return; the exponential backoff is kept for cameras that answer
      // but whose stream ffmpeg cannot record (crash loops)
      if (gate) {
        if (!(await rtspAnswers(url, Math.min(2000, this.rc.stallSeconds * 1000)))) {
          this.setState('backoff', 'camera unreachable');
          await sleep(this.rc.reconnectPollMs, this.wake);
          continue;
        }
        gate = false;
      }
      const r = await this.runOnce(url);
      this.afterRun(r, backoff);
      if (this.stopping) break;
      if (r.reason === 'disk full') {
        await this.waitForDisk(freeBytes(this.ctx.paths.video));
        continue;
      }
      if (r.reason === 'camera unreachable') {
        gate = true;
        continue;
      }
      const delay = backoff.next();
      this.log.info({ delay, failures: backoff.failures, reason: r.reason }, 'restarting ffmpeg after backoff');
      this.setState('backoff', r.reason);
      await sleep(delay, this.wake);
    }
  }

  private afterRun(r: RunResult, backoff: Backoff): void {
    if (r.segments > 0) backoff.reset();
    if (this.pausing) return; // the window ended: not a hole
    this.openGap(r.lastEnd ?? r.startedAt, r.reason, r.detail);
  }

  private live(st: RunState, child?: ChildProcess): LiveRun {
    return { ...st, child, exited: false, interrupted: false, listed: 0, anchor: Infinity, segments: 0, lastEnd: null };
  }

  /** One ffmpeg life: spawn, then watch it until it ends. */
  async runOnce(url: string): Promise<RunResult> {
    const startedAt = this.ctx.now();
    const runId = this.repo.startRun(this.cam.id, startedAt);
    if (this.stats.runs++ > 0) this.stats.restarts++;
    const dir = runDir(this.ctx.paths.video, this.cam.id, startedAt);
    fs.mkdirSync(dir, { recursive: true });
    const pattern = runPattern(dir, runId, startedAt);
    const listFile = listFileOf(pattern);
    const errFile = errFileOf(pattern);
    const args = recordArgs({ url, transport: this.cam.transport, segmentSeconds: this.rc.segmentSeconds, outPattern: pattern, ioTimeoutSeconds: this.rc.stallSeconds + 5, segmentList: listFile });
    this.log.info({ runId, url: maskUrl(url), pattern }, 'starting ffmpeg');
    this.setState('starting');
    let child: ChildProcess;
    try {
      child = spawnRecording(args, { ffmpegPath: this.rc.ffmpegPath, errFile, heartbeatFile: this.heartbeatFile, orphanMinutes: this.rc.orphanMinutes });
    } catch (err) {
      const detail = `cannot start ffmpeg: ${(err as Error).message}`;
      this.repo.endRun(runId, startedAt, 'ffmpeg exited', null);
      return { runId, startedAt, reason: 'ffmpeg exited', detail, exitCode: null, segments: 0, lastEnd: null };
    }
    const st: RunState = { pid: child.pid ?? -1, runId, startedAt, pattern, dir, listFile, errFile, fingerprint: this.fingerprint };
    if (child.pid) {
      try {
        writeRunState(this.stateFile, st);
      } catch (err) {
        // the state file lives on the video disk: when that disk is full (ENOSPC) this write fails
        // before ffmpeg's own does. The run goes on (only adoption after an agent restart is lost
        // for it); ffmpeg then hits the full disk and watch() opens the disk-full gap. Throwing here
        // ended the camera's loop: no gap, no alarm, no recording after space returned.
        this.log.warn({ runId, err: (err as Error).message }, 'run state not written: this run cannot be adopted after a restart');
      }
    }
    return this.watch(this.live(st, child), url);
  }

  /**
   * Index the segments a run's list names that the store does not have yet. A segment's wall
   * clock: packets are stamped with their arrival (-use_wallclock_as_timestamps), so a segment
   * closed (last written, its mtime; or its line read) at T with end offset e says media time 0
   * was at most T − e; the smallest such bound is the run's anchor. Segments of a run are
   * contiguous: each starts where the previous one ended.
   */
  private async indexListed(run: Pick<LiveRun, 'dir' | 'runId'> & Partial<LiveRun>, tail: ListTail, o: { live: boolean }): Promise<number> {
    let n = 0;
    for (const line of tail.read()) {
      const readAt = this.ctx.now();
      const row = parseCsvLine(line);
      if (!row) continue;
      run.listed = (run.listed ?? 0) + 1;
      const file = path.join(run.dir, path.basename(row.file));
      let mtime = Infinity;
      try {
        mtime = fs.statSync(file).mtimeMs;
      } catch {
        continue; // named but gone: nothing to index
      }
      const closedAt = Math.min(mtime, o.live ? readAt : Infinity);
      run.anchor = Math.min(run.anchor ?? Infinity, closedAt - row.endSec * 1000);
      // by path, not the run's whole list: a run lasts for months, 1,440 segments a day
      const known = this.repo.segmentByPath(file);
      if (known && known.run_id === run.runId) {
        run.anchor = Math.min(run.anchor, known.end_ms - row.endSec * 1000);
        run.prevEnd = known.end_ms;
        continue;
      }
      if (this.repo.hasPath(file)) continue;
      const shape = inspectFmp4(file);
      if (!shape.intact || shape.fragments === 0) continue; // left to recovery, which repairs or describes it
      const start = Math.round(run.prevEnd ?? run.anchor + row.startSec * 1000);
      const end = Math.max(start, Math.round(run.anchor + row.endSec * 1000));
      try {
        const { sha256, bytes } = await sha256File(file);
        const { id, closedGap } = this.repo.addSegment({ camera: this.cam.id, runId: run.runId, path: file, start, end, bytes, sha256 });
        n++;
        run.prevEnd = end;
        run.segments = (run.segments ?? 0) + 1;
        run.lastEnd = end;
        this.stats.segments++;
        this.stats.lastSegmentEnd = end;
        if (o.live) {
          const latency = Date.now() - Math.min(mtime, Date.now());
          this.stats.indexLatencies.push(latency);
          this.stats.lastIndexLatency = { path: file, ms: latency };
          if (this.stats.indexLatencies.length > 10_000) this.stats.indexLatencies.shift();
        }
        this.emitClosed(closedGap);
        this.ctx.bus.emit('segment.indexed', { id, camera: this.cam.id, path: file, start, end, bytes });
      } catch (err) {
        // left for recovery after this run ends: the file stays, it will be indexed then
        this.log.error({ file, err: (err as Error).message }, 'indexing a segment failed');
      }
    }
    return n;
  }

  /** Watch a running ffmpeg (ours or adopted): index segments as they close, watch the bytes, classify its end. */
  private async watch(run: LiveRun, url: string): Promise<RunResult> {
    this.current = run;
    this.stats.ffmpegPid = run.pid;
    this.stats.recordingSince = run.startedAt;
    const tail = new ListTail(run.listFile);
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let spawnError: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      if (run.child) {
        run.child.on('error', (e) => {
          spawnError = e;
          run.exited = true;
          resolve();
        });
        run.child.on('exit', (code, sig) => {
          exitCode = code;
          exitSignal = sig;
          run.exited = true;
          resolve();
        });
      } else {
        // adopted: not our child, so no exit event; its pid is watched instead, each tick
        const untick = this.ticker.add(() => {
          if (!isRecording(run)) {
            untick();
            run.exited = true;
            resolve();
          }
        });
      }
    });
    let busy = Promise.resolve();
    const pump = () => {
      busy = busy.then(() => this.indexListed(run, tail, { live: true })).then(() => undefined);
      return busy;
    };
    // the list file changes when a segment closes: read it then (inotify), and every few ticks anyway
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(run.listFile, () => void pump());
    } catch {
      /* not created yet: the tick reads it */
    }
    await pump();

    // watchdog: the open segment (number = lines listed so far) must keep growing. Fragments are
    // flushed at least every second, so silence longer than that is the camera's
    let lastSize = -1;
    let seenListed = -1;
    let lastProgress = Date.now();
    let stalled = false;
    let diskFull = false;
    let ticks = 0;
    // a healthy stream writes a fragment at least every second; its growth is seen at the next
    // tick and a silence at the one after the threshold: silence over stallSeconds − 2
    // ticks means the camera froze at most stallSeconds ago. Before the first bytes, connecting
    // may take longer; ffmpeg's own I/O timeout bounds that too
    const steadyStallMs = Math.max(1500, this.rc.stallSeconds * 1000 - 2 * this.ticker.ms);
    const startStallMs = this.rc.stallSeconds * 1000 + 5000;
    const tick = () => {
      ticks++;
      if (!watcher) {
        try {
          watcher = fs.watch(run.listFile, () => void pump());
          void pump();
        } catch {
          /* still not there */
        }
      }
      // a safety net only: inotify tells when a segment closes
      if (ticks % 5 === 0) void pump();
      // not created yet: -1 (no exception object built each tick)
      const size = fs.statSync(segmentPath(run.pattern, run.listed), { throwIfNoEntry: false })?.size ?? -1;
      if (size !== lastSize || run.listed !== seenListed) {
        lastSize = size;
        seenListed = run.listed;
        lastProgress = Date.now();
        if (size > 0 || run.listed > 0) this.setState('recording');
      }
      // statfs every other tick: the write itself fails fast on ENOSPC anyway
      if (!diskFull && ticks % 2 === 0 && this.diskFull()) {
        // stop before the disk is really full, so the segment is closed cleanly and indexed
        diskFull = true;
        this.interrupt();
      } else if (!stalled && Date.now() - lastProgress > (lastSize > 0 || run.listed > 0 ? steadyStallMs : startStallMs)) {
        stalled = true;
        this.log.warn({ runId: run.runId, seconds: this.rc.stallSeconds }, 'no new bytes: stream stalled');
        this.interrupt();
      }
    };
    const untick = this.ticker.add(tick);
    // at once too: an adopted ffmpeg is seen recording without waiting for the first tick
    tick();

    await exited;
    untick();
    watcher?.close();
    await pump();
    await busy;
    this.current = undefined;
    this.stats.ffmpegPid = undefined;
    this.stats.recordingSince = undefined;

    // segments whose list line never came (ENOSPC, ffmpeg killed) are recovered: whole files
    // indexed, cut ones repaired or described
    const rec = await this.recover(run.dir);
    for (const x of rec.recovered) {
      if (x.end > x.start) {
        run.segments++;
        run.lastEnd = Math.max(run.lastEnd ?? 0, x.end);
      }
    }
    if (rec.recovered.length) this.log.warn({ runId: run.runId, recovered: rec.recovered.length }, 'segments without a list line were recovered');
    fs.rmSync(this.stateFile, { force: true });

    const stderr = tailText(run.errFile);
    const lastErr = stderr.trim().split('\n').filter(Boolean).pop() ?? '';
    let detail = run.child ? (exitCode !== null ? `ffmpeg exit code ${exitCode}` : `ffmpeg killed by ${exitSignal}`) : 'adopted ffmpeg ended';
    if (lastErr) detail += `: ${maskSecrets(lastErr).slice(0, 300)}`;
    if (spawnError) detail = `cannot start ffmpeg: ${spawnError.message}`;
    const cuts = rec.cuts.map(describeCut);
    let reason: GapReason;
    if (this.stopping) {
      reason = this.pausing ? 'not scheduled' : 'agent stopped';
      detail = '';
    }
    // ffmpeg 5.1 may end with code 0 and no message when a write hits ENOSPC: the free space
    // itself is the evidence
    else if (diskFull || isDiskFullText(stderr) || freeBytes(this.ctx.paths.video) < this.rc.minFreeBytes + 1024 * 1024) reason = 'disk full';
    else if (stalled) {
      reason = 'stream stalled';
      detail = `no new video for ${this.rc.stallSeconds} s (camera frozen, or the network dropped the stream); ${detail}`;
    }
    // ffmpeg's own words are the only account of an RTSP refusal it gets
    else if (/401|Unauthorized|authorization failed/i.test(stderr)) reason = 'auth failed';
    else if (url && !(await rtspAnswers(url, 2000))) reason = 'camera unreachable';
    else if (/timed out/i.test(stderr)) reason = 'stream stalled';
    else reason = 'ffmpeg exited';
    if (cuts.length) detail = [detail, ...cuts].filter(Boolean).join('; ');
    this.repo.endRun(run.runId, run.lastEnd ?? this.ctx.now(), reason, exitCode);
    this.log.warn({ runId: run.runId, reason, detail, segments: run.segments, code: exitCode, signal: exitSignal }, 'ffmpeg run ended');
    return { runId: run.runId, startedAt: run.startedAt, reason, detail, exitCode, segments: run.segments, lastEnd: run.lastEnd };
  }
}
