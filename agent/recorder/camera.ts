import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { AgentContext } from '../core/context.js';
import type { CameraConfig } from '../config/schema.js';
import { maskUrl } from '../core/log.js';
import { recordArgs } from '../ffmpeg/args.js';
import { spawnFfmpegWithList } from '../ffmpeg/run.js';
import type { AlarmRepo } from '../store/alarms.js';
import type { GapReason, GapRow, RecordingRepo } from '../store/recordings.js';
import { Backoff } from '../core/backoff.js';
import { freeBytes, isDiskFullText } from './disk.js';
import { rtspAnswers } from './reachability.js';
import { recoverSegments } from './recovery.js';
import { sha256File } from '../core/hash.js';
import { parseCsvLine, runDir, runPattern, segmentPath } from './segments.js';

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
}

const sleep = (ms: number, wake: { fn?: () => void }) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    wake.fn = () => {
      clearTimeout(t);
      resolve();
    };
  });

/**
 * One camera's recording: a supervised ffmpeg (one run per ffmpeg life), the segment list read
 * from fd 3 and indexed the moment each segment closes, a watchdog on the bytes written, gaps
 * with reasons between runs, and recovery of whatever a previous life left unindexed.
 */
export class CameraRecorder {
  readonly stats: CameraStats;
  private stopping = false;
  private child?: ChildProcess;
  private loopDone?: Promise<void>;
  private wake: { fn?: () => void } = {};
  private log: Logger;
  private readonly cameraDir: string;
  private readonly pidFile: string;

  constructor(
    private ctx: AgentContext,
    private cam: CameraConfig,
    private repo: RecordingRepo,
    private alarms: AlarmRepo,
    private resolveUrl: () => Promise<string>,
  ) {
    this.log = ctx.log.child({ camera: cam.id });
    this.cameraDir = path.join(ctx.paths.video, cam.id);
    this.pidFile = path.join(this.cameraDir, '.ffmpeg.pid');
    this.stats = { camera: cam.id, state: 'stopped', runs: 0, restarts: 0, segments: 0, lastSegmentEnd: null, indexLatencies: [] };
  }

  private get rc() {
    return this.ctx.cfg.recorder;
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.cameraDir, { recursive: true });
    await this.stopOrphan();
    await this.recoverAfterCrash();
    this.loopDone = this.loop().catch((err) => this.log.error({ err: (err as Error).message }, 'recorder loop failed'));
  }

  /** SIGINT to ffmpeg so it closes the open segment; index it; open the 'agent stopped' gap. */
  async stop(): Promise<void> {
    this.stopping = true;
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

  private interrupt(): void {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGINT');
    setTimeout(() => {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, this.rc.stopTimeoutMs).unref();
  }

  private setState(state: CameraStats['state'], detail?: string): void {
    if (this.stats.state === state) return;
    this.stats.state = state;
    this.ctx.bus.emit('camera.status', { camera: this.cam.id, state, detail });
  }

  private openGap(start: number, reason: GapReason, detail: string): void {
    const { gap, created } = this.repo.openGap(this.cam.id, start, reason, detail || undefined);
    if (created) {
      this.log.warn({ start, reason, detail }, 'recording gap opened');
      this.ctx.bus.emit('recording.gap', { camera: this.cam.id, start: gap.start_ms, end: null, reason });
    }
  }

  private emitClosed(g: GapRow | undefined): void {
    if (!g || g.end_ms === null) return;
    this.log.info({ start: g.start_ms, end: g.end_ms, reason: g.reason }, 'recording gap closed');
    this.ctx.bus.emit('recording.gap', { camera: this.cam.id, start: g.start_ms, end: g.end_ms, reason: g.reason });
  }

  /** An ffmpeg left by a previous life of the agent (no pdeathsig support) must not race the new one. */
  private async stopOrphan(): Promise<void> {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
    } catch {
      return;
    }
    const alive = () => {
      try {
        process.kill(pid, 0);
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.cameraDir);
      } catch {
        return false;
      }
    };
    if (pid > 0 && alive()) {
      this.log.warn({ pid }, 'stopping ffmpeg left by a previous agent');
      process.kill(pid, 'SIGINT');
      const deadline = Date.now() + this.rc.stopTimeoutMs;
      while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (alive()) process.kill(pid, 'SIGKILL');
      while (alive()) await new Promise((r) => setTimeout(r, 20));
    }
    fs.rmSync(this.pidFile, { force: true });
  }

  /** Runs the previous life left open end with 'agent crashed'; their unindexed files are indexed. */
  private async recoverAfterCrash(): Promise<void> {
    const recovered = await this.recover();
    for (const run of this.repo.openRuns(this.cam.id)) {
      const segs = this.repo.segmentsOfRun(run.id).filter((s) => s.end_ms > s.start_ms);
      const lastEnd = segs.length ? Math.max(...segs.map((s) => s.end_ms)) : run.started_ms;
      this.repo.endRun(run.id, lastEnd, 'agent crashed', null);
      this.stats.lastSegmentEnd = Math.max(this.stats.lastSegmentEnd ?? 0, lastEnd);
      this.openGap(lastEnd, 'agent crashed', `run ${run.id} was not closed; ${recovered} segment(s) recovered`);
    }
    const last = this.repo.lastSegment(this.cam.id);
    if (last) this.stats.lastSegmentEnd = Math.max(this.stats.lastSegmentEnd ?? 0, last.end_ms);
  }

  private async recover(skip?: (f: string) => boolean): Promise<number> {
    const rec = await recoverSegments({ camera: this.cam.id, cameraDir: this.cameraDir, repo: this.repo, log: this.log, ffprobePath: this.rc.ffprobePath, skip });
    for (const r of rec) {
      this.emitClosed(r.closedGap);
      this.ctx.bus.emit('segment.indexed', { id: r.id, camera: this.cam.id, path: r.path, start: r.start, end: r.end, bytes: r.bytes });
    }
    return rec.length;
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

  private async loop(): Promise<void> {
    const backoff = new Backoff(this.rc.backoffInitialMs, this.rc.backoffMaxMs);
    let gate = false;
    while (!this.stopping) {
      if (this.diskFull()) {
        await this.waitForDisk();
        continue;
      }
      let url: string;
      try {
        url = await this.resolveUrl();
      } catch (err) {
        const msg = (err as Error).message;
        const auth = /auth|password|401|not ?authori[sz]ed/i.test(msg);
        this.openGap(this.stats.lastSegmentEnd ?? this.ctx.now(), auth ? 'auth failed' : 'camera unreachable', msg);
        this.setState('backoff', msg);
        await sleep(auth ? backoff.next() : Math.max(this.rc.reconnectPollMs, 2000), this.wake);
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
      if (r.segments > 0) backoff.reset();
      this.openGap(r.lastEnd ?? r.startedAt, r.reason, r.detail);
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

  /** One ffmpeg life: spawn, index segments as their list lines arrive, watch the bytes, classify the end. */
  async runOnce(url: string): Promise<RunResult> {
    const startedAt = this.ctx.now();
    const runId = this.repo.startRun(this.cam.id, startedAt);
    if (this.stats.runs++ > 0) this.stats.restarts++;
    const dir = runDir(this.ctx.paths.video, this.cam.id, startedAt);
    fs.mkdirSync(dir, { recursive: true });
    const pattern = runPattern(dir, runId, startedAt);
    const args = recordArgs({ url, transport: this.cam.transport, segmentSeconds: this.rc.segmentSeconds, outPattern: pattern, ioTimeoutSeconds: this.rc.stallSeconds + 5 });
    this.log.info({ runId, url: maskUrl(url), pattern }, 'starting ffmpeg');
    this.setState('starting');

    const { child, list } = spawnFfmpegWithList(args, { ffmpegPath: this.rc.ffmpegPath });
    this.child = child;
    this.stats.ffmpegPid = child.pid;
    if (child.pid) fs.writeFileSync(this.pidFile, String(child.pid));
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-8000);
    });
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));

    let listed = 0;
    let segments = 0;
    let lastEnd: number | null = null;
    // wall-clock time of the run's media time 0: packets are stamped with their arrival time
    // (-use_wallclock_as_timestamps), so a line arriving at T for a segment ending at offset e
    // says time 0 was at most T − e; the smallest such bound is the best estimate
    let anchor = Infinity;
    let chain = Promise.resolve();
    const indexed = new Set<string>();
    readline.createInterface({ input: list }).on('line', (line) => {
      const closedAt = this.ctx.now();
      const row = parseCsvLine(line);
      if (!row) return;
      listed++;
      anchor = Math.min(anchor, closedAt - row.endSec * 1000);
      const file = path.join(dir, path.basename(row.file));
      const start = Math.round(anchor + row.startSec * 1000);
      const end = Math.round(anchor + row.endSec * 1000);
      chain = chain.then(async () => {
        try {
          const { sha256, bytes } = await sha256File(file);
          const { id, closedGap } = this.repo.addSegment({ camera: this.cam.id, runId, path: file, start, end, bytes, sha256 });
          indexed.add(file);
          segments++;
          this.stats.segments++;
          lastEnd = end;
          this.stats.lastSegmentEnd = end;
          // from ffmpeg's last write to the file (its close) to the committed row
          let closed = closedAt;
          try {
            closed = Math.min(closedAt, fs.statSync(file).mtimeMs);
          } catch {
            /* keep the list line's arrival */
          }
          const latency = Date.now() - closed;
          this.stats.indexLatencies.push(latency);
          this.stats.lastIndexLatency = { path: file, ms: latency };
          if (this.stats.indexLatencies.length > 10_000) this.stats.indexLatencies.shift();
          this.emitClosed(closedGap);
          this.ctx.bus.emit('segment.indexed', { id, camera: this.cam.id, path: file, start, end, bytes });
        } catch (err) {
          // left for recovery after this run ends: the file stays, it will be indexed from ffprobe
          this.log.error({ file, err: (err as Error).message }, 'indexing a segment failed');
        }
      });
    });

    // watchdog: the open segment (number = lines listed so far) must keep growing
    let lastSize = -1;
    let lastProgress = Date.now();
    let stalled = false;
    let diskFull = false;
    let seenListed = 0;
    let ticks = 0;
    const watchdog = setInterval(() => {
      let size = -1;
      try {
        size = fs.statSync(segmentPath(pattern, listed)).size;
      } catch {
        /* not created yet */
      }
      if (size !== lastSize || listed !== seenListed) {
        lastSize = size;
        seenListed = listed;
        lastProgress = Date.now();
        if (size > 0 || listed > 0) this.setState('recording');
      }
      // statfs every other tick: the write itself fails fast on ENOSPC anyway
      if (!diskFull && ++ticks % 2 === 0 && this.diskFull()) {
        // stop before the disk is really full, so the segment is closed cleanly and indexed
        diskFull = true;
        this.interrupt();
      } else if (!stalled && Date.now() - lastProgress > this.rc.stallSeconds * 1000) {
        stalled = true;
        this.log.warn({ runId, seconds: this.rc.stallSeconds }, 'no new bytes: stream stalled');
        this.interrupt();
      }
    }, 1000);

    const { code, signal } = await exited;
    clearInterval(watchdog);
    await chain;
    this.child = undefined;
    this.stats.ffmpegPid = undefined;
    fs.rmSync(this.pidFile, { force: true });

    // segments whose list line never came (ENOSPC, ffmpeg crash) are indexed from ffprobe
    const before = this.stats.segments;
    for (const r of await recoverSegments({ camera: this.cam.id, cameraDir: dir, repo: this.repo, log: this.log, ffprobePath: this.rc.ffprobePath })) {
      this.emitClosed(r.closedGap);
      this.ctx.bus.emit('segment.indexed', { id: r.id, camera: this.cam.id, path: r.path, start: r.start, end: r.end, bytes: r.bytes });
      this.stats.segments++;
      if (r.end > r.start) {
        segments++;
        lastEnd = Math.max(lastEnd ?? 0, r.end);
        this.stats.lastSegmentEnd = lastEnd;
      }
    }
    if (this.stats.segments > before) this.log.warn({ runId, recovered: this.stats.segments - before }, 'segments without a list line were recovered');

    const lastErr = stderr.trim().split('\n').filter(Boolean).pop() ?? '';
    let reason: GapReason;
    let detail = code !== null ? `ffmpeg exit code ${code}` : `ffmpeg killed by ${signal}`;
    // ffmpeg prints the input URL, password included, in its errors: mask before storing or logging
    if (lastErr) detail += `: ${maskUrl(lastErr).slice(0, 300)}`;
    if (spawnError) detail = `cannot start ffmpeg: ${spawnError.message}`;
    if (this.stopping) {
      reason = 'agent stopped';
      detail = '';
    }
    // ffmpeg 5.1 may end with code 0 and no message when a write hits ENOSPC: the free space
    // itself is the evidence
    else if (diskFull || isDiskFullText(stderr) || freeBytes(this.ctx.paths.video) < this.rc.minFreeBytes + 1024 * 1024) reason = 'disk full';
    else if (stalled) reason = 'stream stalled';
    else if (/401|Unauthorized|authorization failed/i.test(stderr)) reason = 'auth failed';
    else if (!(await rtspAnswers(url, 2000))) reason = 'camera unreachable';
    else if (/timed out/i.test(stderr)) reason = 'stream stalled';
    else reason = 'ffmpeg exited';
    this.repo.endRun(runId, lastEnd ?? this.ctx.now(), reason, code);
    this.log.warn({ runId, reason, detail, segments, code, signal }, 'ffmpeg run ended');
    return { runId, startedAt, reason, detail, exitCode: code, segments, lastEnd };
  }
}
