import fs from 'node:fs';

/**
 * What a restarted agent needs to adopt a recording ffmpeg: kept in `<camera>/.ffmpeg.json`,
 * written when ffmpeg is spawned and removed when its run is ended. Everything else (segments
 * closed meanwhile, ffmpeg's messages) is in files ffmpeg itself appends to.
 */
export interface RunState {
  pid: number;
  runId: number;
  startedAt: number;
  pattern: string;
  dir: string;
  listFile: string;
  errFile: string;
  fingerprint: string;
}

export function readRunState(file: string): RunState | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as RunState;
    return Number.isInteger(s.pid) && s.pid > 0 && typeof s.listFile === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary name then renamed: a crash never leaves half a state file. */
export function writeRunState(file: string, s: RunState): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s));
  fs.renameSync(tmp, file);
}

/**
 * Is this run's ffmpeg still there? Its pid alone could have been reused by another process
 * after a reboot, so its command line must name this run's segment list.
 */
export function isRecording(s: Pick<RunState, 'pid' | 'listFile'>): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${s.pid}/stat`, 'utf8');
    // a zombie has exited: only its parent's wait is missing
    if (/^\d+ \(.*\) Z /.test(stat)) return false;
    return fs.readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').split('\0').includes(s.listFile);
  } catch {
    return false;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Wait for an ffmpeg that is not our child to end; SIGKILL after `ms`. */
export async function waitGone(s: Pick<RunState, 'pid' | 'listFile'>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (isRecording(s) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isRecording(s)) signal(s.pid, 'SIGKILL');
  while (isRecording(s)) await new Promise((r) => setTimeout(r, 20));
}

/** The complete new lines of a file ffmpeg appends to, read from where the last call stopped. */
export class ListTail {
  private offset = 0;
  private rest = '';
  constructor(readonly file: string) {}

  read(): string[] {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const text = this.rest + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      this.rest = lines.pop() ?? '';
      return lines.filter((l) => l.trim());
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The last non-empty line of ffmpeg's message file ('' if none). */
export function lastLine(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 8000);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').trim().split('\n').filter(Boolean).pop() ?? '';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** The tail of ffmpeg's messages (for classifying how a run ended). */
export function tailText(file: string, bytes = 8000): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, bytes);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** ffmpeg prints the input URL, password included, in its errors: masked before storing or logging. */
export const maskSecrets = (s: string) => s.replace(/\/\/([^:/@\s]+):([^@\s]*)@/g, '//$1:***@');
