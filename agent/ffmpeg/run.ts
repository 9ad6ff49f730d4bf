import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { locate, type Tool } from './locate.js';
import { probeFileArgs } from './args.js';
import { adaptArgs } from './caps.js';

/**
 * Spawning. The recorder's ffmpeg gets fd 3 as a pipe for the segment list. On Linux it is
 * started through `setpriv --pdeathsig INT` when available: if the agent dies (kill -9, OOM),
 * the kernel sends ffmpeg SIGINT, so it closes its segment cleanly instead of recording on as
 * an orphan that the restarted agent would race with.
 */
export interface Spawned {
  child: ChildProcess;
  /** the segment list pipe (fd 3) */
  list: NodeJS.ReadableStream;
}

let setprivPath: string | null | undefined;
let setprivProblem: string | undefined;
/**
 * setpriv, if present and usable. Usable is tried, not assumed: under the systemd unit's
 * sandbox (SystemCallFilter=~@privileged) util-linux 2.38's setpriv dies with "activate
 * capabilities: Operation not permitted" before it execs anything, which would stop every
 * recording. There, systemd's KillMode=mixed stops a dead agent's ffmpeg instead.
 */
function setpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== 'linux') return null;
  const p = ['/usr/bin/setpriv', '/bin/setpriv'].find((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!p) return null;
  const r = spawnSync(p, ['--pdeathsig', 'INT', process.execPath, '-e', ''], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0) setprivPath = p;
  else setprivProblem = `${p} --pdeathsig fails here: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`;
  return setprivPath;
}

/** Why ffmpeg runs without a parent-death signal on this host, if it does (for the log). */
export function pdeathsigProblem(): string | undefined {
  setpriv();
  return setprivProblem;
}

export function spawnFfmpegWithList(args: string[], opts: { ffmpegPath?: string; cwd?: string } = {}): Spawned {
  const bin = locate('ffmpeg', opts.ffmpegPath);
  const sp = setpriv();
  // why SIGPIPE ignored: when the agent dies, ffmpeg (told by pdeathsig to stop) writes the
  // closing segment's trailer, then its list line to the dead pipe; with SIGPIPE at its default
  // it would die right there, before flushing the trailer, losing the last second of video.
  // An ignored signal stays ignored across exec, so a shell sets it and execs ffmpeg (same pid).
  // Even so, ffmpeg 5.1 does not always write the trailer after the agent died (seen in about
  // half of the drills): the real bound on the loss is the 1 s flushed fragment (args.ts).
  args = adaptArgs(bin, args);
  const ignorePipe = process.platform !== 'win32' ? ['/bin/sh', '-c', 'trap "" PIPE; exec "$0" "$@"', bin] : [bin];
  const [cmd, argv] = sp ? [sp, ['--pdeathsig', 'INT', ...ignorePipe, ...args]] : [ignorePipe[0], [...ignorePipe.slice(1), ...args]];
  const child = spawn(cmd, argv, {
    cwd: opts.cwd,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    // own process group: a terminal's Ctrl-C reaches the agent, which then stops ffmpeg in order
    detached: true,
    env: { ...process.env, TZ: 'UTC' },
  });
  return { child, list: child.stdio[3] as NodeJS.ReadableStream };
}

export function spawnFfmpeg(args: string[], opts: { ffmpegPath?: string } = {}): ChildProcess {
  const bin = locate('ffmpeg', opts.ffmpegPath);
  return spawn(bin, adaptArgs(bin, args), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
}

export interface RunOptions {
  /** ffmpeg/ffprobe binary (config recorder.ffmpegPath / ffprobePath); else located */
  path?: string;
  /** kill after this long in all (default 30 s; 0 = no overall limit, for long decodes) */
  timeoutMs?: number;
  /**
   * kill when stdout stays silent this long while the consumer is not holding it paused (a hung
   * decoder); time spent paused by the consumer does not count
   */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** stream stdout here instead of collecting it; pause/resume `stdout` for backpressure */
  onStdout?: (chunk: Buffer, stdout: NodeJS.ReadableStream) => void;
}

/**
 * The one process runner of ffmpeg and ffprobe for everything but the recorder's long-lived
 * ffmpeg (spawnFfmpegWithList): probes, snapshots, vision's frame decoding. Resolves with
 * stdout (empty when streamed); rejects with stderr's last line on failure, timeout or a
 * consumer error (`kill` it by throwing from onStdout).
 */
export function runTool(tool: Tool, args: string[], opts: RunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const bin = locate(tool, opts.path);
    const child = spawn(bin, adaptArgs(bin, args), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let failure: Error | undefined;
    const kill = (why: Error) => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (b: Buffer) => {
      last = Date.now();
      if (!opts.onStdout) return void out.push(b);
      try {
        opts.onStdout(b, child.stdout);
      } catch (e) {
        kill(e as Error);
      }
    });
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
    });
    const total = opts.timeoutMs ?? 30_000;
    const timer = total ? setTimeout(() => kill(new Error(`${tool} timed out after ${total} ms`)), total) : undefined;
    let last = Date.now();
    const idle = opts.idleTimeoutMs;
    const watch = idle
      ? setInterval(() => {
          if (child.stdout.isPaused()) last = Date.now();
          else if (Date.now() - last > idle) kill(new Error(`${tool} produced nothing for ${idle} ms`));
        }, Math.max(50, idle / 4))
      : undefined;
    const onAbort = () => kill(new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      clearInterval(watch);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      done();
      reject(e);
    });
    child.on('close', (code, signal) => {
      done();
      if (failure) reject(failure);
      else if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(err.trim().split('\n').pop() || `${tool} ${signal ? `killed by ${signal}` : `exited with code ${code}`}`));
    });
  });
}

/** Run ffprobe, return stdout; rejects with stderr's last line on failure or timeout. */
export async function runFfprobe(args: string[], opts: { ffprobePath?: string; timeoutMs?: number } = {}): Promise<string> {
  return (await runTool('ffprobe', args, { path: opts.ffprobePath, timeoutMs: opts.timeoutMs ?? 30_000 })).toString();
}

export interface FileProbe {
  durationSec: number;
  hasVideo: boolean;
}

/** Duration of a (possibly truncated) media file. */
export async function probeFile(file: string, ffprobePath?: string): Promise<FileProbe> {
  const json = JSON.parse(await runFfprobe(probeFileArgs(file), { ffprobePath })) as {
    format?: { duration?: string };
    streams?: Array<{ codec_type?: string; duration?: string }>;
  };
  const v = json.streams?.find((s) => s.codec_type === 'video');
  const d = Number(json.format?.duration ?? v?.duration ?? NaN);
  return { durationSec: Number.isFinite(d) ? d : 0, hasVideo: !!v };
}

/** Run ffmpeg and collect its stdout (a snapshot); rejects on failure or timeout. */
export function runFfmpegToBuffer(args: string[], opts: { ffmpegPath?: string; timeoutMs?: number } = {}): Promise<Buffer> {
  return runTool('ffmpeg', args, { path: opts.ffmpegPath, timeoutMs: opts.timeoutMs ?? 15_000 });
}
