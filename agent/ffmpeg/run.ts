import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { locate, type Tool } from './locate.js';
import { probeFileArgs } from './args.js';
import { adaptArgs } from './caps.js';

/**
 * Spawning. The recorder's ffmpeg is meant to outlive the agent (docs/recording.md, "the
 * recording outlives the agent"): it is started in its own process group, without a
 * parent-death signal (setpriv --pdeathsig re-sends its signal at each re-parenting from one of
 * the agent's threads, and ffmpeg 5.1 aborts its writes on the second SIGINT), with its segment
 * list and its messages going to files a restarted agent reopens. Its only stop signal is the
 * one SIGINT the agent sends (SIGKILL after a timeout), or, when no agent has beaten the
 * heartbeat file for `orphanMinutes`, the one SIGINT of its watchdog: a tiny shell loop forked
 * before exec, so ffmpeg keeps the pid the agent knows.
 */
export interface RecordingSpawn {
  ffmpegPath?: string;
  /** ffmpeg's stderr goes here (appended) */
  errFile: string;
  /** touched by the agent while it lives; ffmpeg stops once it is older than orphanMinutes */
  heartbeatFile: string;
  orphanMinutes: number;
}

/** How often the watchdog looks at the heartbeat, seconds. */
export const WATCHDOG_POLL_SECONDS = 20;

export function spawnRecording(args: string[], opts: RecordingSpawn): ChildProcess {
  const bin = locate('ffmpeg', opts.ffmpegPath);
  args = adaptArgs(bin, args);
  // why a shell: `trap "" PIPE` (an ignored signal stays ignored across exec, so ffmpeg never
  // dies of a closed pipe while closing a segment) and the watchdog subshell, which watches $$
  // (the shell's pid, which exec turns into ffmpeg's). POSIX sh: `find -mmin -N` prints the
  // file only if it changed less than N minutes ago.
  const script = [
    'hb=$1; m=$2; p=$3; shift 3',
    'trap "" PIPE',
    `( while sleep ${WATCHDOG_POLL_SECONDS}; do kill -0 $$ 2>/dev/null || exit 0; [ -n "$(find "$hb" -mmin -"$m" 2>/dev/null)" ] || { kill -INT $$; exit 0; }; done ) </dev/null >/dev/null 2>&1 &`,
    'exec "$p" "$@"',
  ].join('\n');
  const err = fs.openSync(opts.errFile, 'a', 0o640);
  try {
    return spawn('/bin/sh', ['-c', script, 'ffmpeg-rec', opts.heartbeatFile, String(Math.max(1, Math.round(opts.orphanMinutes))), bin, ...args], {
      stdio: ['ignore', 'ignore', err],
      // own process group: a terminal's Ctrl-C reaches the agent only, which stops ffmpeg in order
      detached: true,
      env: { ...process.env, TZ: 'UTC' },
    });
  } finally {
    fs.closeSync(err);
  }
}

export function spawnFfmpeg(args: string[], opts: { ffmpegPath?: string } = {}): ChildProcess {
  const bin = locate('ffmpeg', opts.ffmpegPath);
  return spawn(bin, adaptArgs(bin, args), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
}

/** ffmpeg writing its output to stdout (a live copy read as it comes); stderr is the caller's to read. */
export function spawnFfmpegPipe(args: string[], opts: { ffmpegPath?: string } = {}): ChildProcess {
  const bin = locate('ffmpeg', opts.ffmpegPath);
  return spawn(bin, adaptArgs(bin, args), { stdio: ['ignore', 'pipe', 'pipe'] });
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
      ? setInterval(
          () => {
            if (child.stdout.isPaused()) last = Date.now();
            else if (Date.now() - last > idle) kill(new Error(`${tool} produced nothing for ${idle} ms`));
          },
          Math.max(50, idle / 4),
        )
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
