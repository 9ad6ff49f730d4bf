import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { PACKAGE_ROOT } from '../core/paths.js';
import { Store } from '../store/store.js';
import { RecordingRepo } from '../store/recordings.js';
import { listSegmentFiles } from './segments.js';
import { probeFile } from '../ffmpeg/run.js';
import { union } from '../compliance/intervals.js';

/**
 * kill -9 drills for the crash test and the bench: run the recorder as its own process
 * (dist/agent/recorder/main.js), kill it with SIGKILL mid-segment (optionally its ffmpeg too,
 * as a power cut would), start it again, and measure from the store what was lost.
 */
export interface CrashResult {
  /** lossMs: from the last second on video before the kill to the kill; resumeMs: from the kill to the next segment's start (negative: a segment spans the kill) */
  kills: Array<{ at: number; withFfmpeg: boolean; early: boolean; lossMs: number; resumeMs: number; intoSegmentMs: number }>;
  /** every gap stored, with its reason */
  gaps: Array<{ start: number; end: number | null; reason: string; detail: string | null }>;
  /** unrecorded time between the first and the last second on video */
  uncoveredMs: number;
  segments: Array<{ path: string; start: number; end: number; playable: boolean }>;
  filesOnDisk: number;
  filesIndexed: number;
  unindexed: string[];
  /** ms from ffmpeg closing a segment (list line read) to the row committed, from the agent's own stdout */
  indexLatencies: number[];
}

const MAIN = path.join(PACKAGE_ROOT, 'dist', 'agent', 'recorder', 'main.js');

export function recorderMainPath(): string {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build first`);
  return MAIN;
}

/** Each JSON line a recorder process writes (its pino log); other lines are not ours and skipped. */
export function onJsonLines(stream: NodeJS.ReadableStream, cb: (e: Record<string, unknown>) => void): void {
  let buf = '';
  stream.on('data', (b: Buffer) => {
    buf += b.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(l);
      } catch {
        continue;
      }
      cb(e);
    }
  });
}

function startAgent(cfgFile: string) {
  const child = spawn(process.execPath, [recorderMainPath(), cfgFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  if (process.env.CA_DRILL_STDERR) child.stderr!.pipe(fs.createWriteStream(process.env.CA_DRILL_STDERR, { flags: 'a' }));
  else child.stderr!.resume();
  const lines: Array<Record<string, unknown>> = [];
  onJsonLines(child.stdout!, (e) => lines.push(e));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, lines, exited };
}

/**
 * `early(i)`: kill i comes within the first second of a segment (right after the agent indexed
 * the previous one), else after `runMs`. The agent is started again after `awayMs` (systemd's
 * RestartSec is 5 s).
 */
export async function crashDrill(opts: {
  rtspUrl: string;
  kills: number;
  /** ms of recording before kill i (a function: a different, e.g. random, moment per kill) */
  runMs: number | ((i: number) => number);
  segmentSeconds: number;
  withFfmpeg: (i: number) => boolean;
  early?: (i: number) => boolean;
  awayMs?: number;
  log?: (s: string) => void;
}): Promise<CrashResult> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-crash-'));
  const cfgFile = path.join(state, 'agent.yaml');
  fs.writeFileSync(cfgFile, YAML.stringify({ paths: { state }, cameras: [{ id: 'cam-k', rtspUrl: opts.rtspUrl }], recorder: { schedule: 'always', segmentSeconds: opts.segmentSeconds } }));
  const kills: Array<{ at: number; withFfmpeg: boolean; early: boolean }> = [];
  const latencies: number[] = [];
  for (let i = 0; i <= opts.kills; i++) {
    const a = startAgent(cfgFile);
    const t0 = Date.now();
    // the drill kills a recorder that is recording: wait for its first bytes of video
    while (!a.lines.some((l) => l.event === 'camera.status' && l.state === 'recording') && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
    const runMs = typeof opts.runMs === 'function' ? opts.runMs(i) : opts.runMs;
    opts.log?.(`  agent ${i + 1} recording after ${Date.now() - t0} ms; kill in ${runMs} ms${i < opts.kills && opts.early?.(i) ? ' + the next segment start' : ''}`);
    await new Promise((r) => setTimeout(r, runMs));
    const early = i < opts.kills && !!opts.early?.(i);
    if (early) {
      // the next segment.indexed line: a segment just closed, the next one is in its first second
      const seen = a.lines.filter((l) => l.event === 'segment.indexed').length;
      const t1 = Date.now();
      while (a.lines.filter((l) => l.event === 'segment.indexed').length === seen && Date.now() - t1 < opts.segmentSeconds * 3000) await new Promise((r) => setTimeout(r, 10));
    }
    if (i === opts.kills) {
      a.child.kill('SIGTERM');
      await a.exited;
    } else {
      const withFfmpeg = opts.withFfmpeg(i);
      let ffPid = 0;
      try {
        ffPid = Number((JSON.parse(fs.readFileSync(path.join(state, 'video', 'cam-k', '.ffmpeg.json'), 'utf8')) as { pid: number }).pid);
      } catch {
        /* not running */
      }
      const at = Date.now();
      a.child.kill('SIGKILL');
      if (withFfmpeg && ffPid > 0) {
        try {
          process.kill(ffPid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      kills.push({ at, withFfmpeg, early });
      await a.exited;
      opts.log?.(`  kill ${i + 1}/${opts.kills}${withFfmpeg ? ' (agent + ffmpeg)' : ' (agent)'}${early ? " in a segment's first second" : ''}`);
      if (opts.awayMs) await new Promise((r) => setTimeout(r, opts.awayMs));
    }
    for (const l of a.lines) if (l.event === 'segment.indexed' && typeof l.latencyMs === 'number') latencies.push(l.latencyMs);
  }
  const store = new Store({ file: path.join(state, 'evidence.db') });
  const repo = new RecordingRepo(store);
  const segs = repo.segments('cam-k').filter((s) => s.end_ms > s.start_ms);
  const files = listSegmentFiles(path.join(state, 'video', 'cam-k'));
  const known = repo.knownPaths('cam-k');
  const result: CrashResult = {
    kills: kills.map((k) => {
      const before = segs.filter((s) => s.start_ms < k.at);
      const lastEnd = Math.max(...before.map((s) => s.end_ms));
      const after = segs.filter((s) => s.start_ms >= k.at);
      const firstStart = after.length ? Math.min(...after.map((s) => s.start_ms)) : NaN;
      const spanning = segs.filter((s) => s.start_ms <= k.at && s.end_ms > k.at);
      const intoSegmentMs = spanning.length ? k.at - Math.max(...spanning.map((s) => s.start_ms)) : NaN;
      return { at: k.at, withFfmpeg: k.withFfmpeg, early: k.early, lossMs: Math.max(0, k.at - lastEnd), resumeMs: firstStart - k.at, intoSegmentMs };
    }),
    gaps: repo.gaps('cam-k').map((g) => ({ start: g.start_ms, end: g.end_ms, reason: g.reason, detail: g.detail })),
    uncoveredMs: 0,
    segments: [],
    filesOnDisk: files.length,
    filesIndexed: files.filter((f) => known.has(f)).length,
    unindexed: files.filter((f) => !known.has(f)),
    indexLatencies: latencies,
  };
  const u = union(segs.map((x) => ({ start: x.start_ms, end: x.end_ms })));
  for (let j = 1; j < u.length; j++) result.uncoveredMs += u[j].start - u[j - 1].end;
  // ffprobe each segment, two at a time (a drill of 20 kills leaves 100+ segments)
  result.segments = segs.map((x) => ({ path: x.path, start: x.start_ms, end: x.end_ms, playable: false }));
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < result.segments.length) {
        const x = result.segments[next++];
        try {
          const p = await probeFile(x.path);
          x.playable = p.hasVideo && p.durationSec > 0;
        } catch {
          /* not playable */
        }
      }
    }),
  );
  store.close();
  return result;
}
