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
 *
 * The watchdog runs as long as the recording, so what it costs per minute counts (the recorder's
 * CPU target is 1.3 × a bare copy): it wakes once a minute (one `sleep` exec) and compares the
 * heartbeat with a mark file using the shell's own `test -nt` and `: >`, where it used to run
 * `find` every 20 s (two fork+execs, measured 1 ms of CPU per second under load, a tenth of the
 * ffmpeg it guards).
 */
export interface RecordingSpawn {
  ffmpegPath?: string;
  /** ffmpeg's stderr goes here (appended) */
  errFile: string;
  /** touched by the agent while it lives; ffmpeg stops once it is older than orphanMinutes */
  heartbeatFile: string;
  orphanMinutes: number;
  /** how often the watchdog looks, seconds (tests shorten it) */
  pollSeconds?: number;
}

/**
 * How often the watchdog looks at the heartbeat, seconds. Above the agent's 30 s beat, so every
 * look of a living agent's ffmpeg finds a beat newer than the previous look.
 */
export const WATCHDOG_POLL_SECONDS = 60;

export function spawnRecording(args: string[], opts: RecordingSpawn): ChildProcess {
  const bin = locate('ffmpeg', opts.ffmpegPath);
  args = adaptArgs(bin, args);
  // why a shell: `trap "" PIPE` (an ignored signal stays ignored across exec, so ffmpeg never
  // dies of a closed pipe while closing a segment) and the watchdog subshell, which watches $$
  // (the shell's pid, which exec turns into ffmpeg's). Each look: a heartbeat newer than the
  // mark (`-nt`) means the agent beat since the previous look, and the mark is renewed (`: >`,
  // no process started); k looks in a row without a beat, k·poll ≥ orphanMinutes, and ffmpeg
  // gets its one SIGINT. So it stops between orphanMinutes and orphanMinutes + one poll after
  // the agent's last beat.
  const poll = opts.pollSeconds ?? WATCHDOG_POLL_SECONDS;
  const looks = Math.max(1, Math.ceil((opts.orphanMinutes * 60) / poll));
  const script = [
    'hb=$1; k=$2; mark=$3; poll=$4; p=$5; shift 5',
    'trap "" PIPE',
    '( n=0; : > "$mark"; while sleep "$poll"; do kill -0 $$ 2>/dev/null || break; if [ "$hb" -nt "$mark" ]; then n=0; : > "$mark"; else n=$((n+1)); [ "$n" -lt "$k" ] || { kill -INT $$; break; }; fi; done; rm -f "$mark" ) </dev/null >/dev/null 2>&1 &',
    'exec "$p" "$@"',
  ].join('\n');
  const err = fs.openSync(opts.errFile, 'a', 0o640);
  try {
    return spawn('/bin/sh', ['-c', script, 'ffmpeg-rec', opts.heartbeatFile, String(looks), `${opts.errFile}.watchdog`, String(poll), bin, ...args], {
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
