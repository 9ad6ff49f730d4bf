import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Run a program, resolve its stdout (or undefined when it is missing or fails). */
export function run(cmd: string, args: string[], timeoutMs = 5000): Promise<{ ok: boolean; stdout: string; stderr: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      resolve({ ok: !err, stdout: stdout ?? '', stderr: stderr ?? '', missing: code === 'ENOENT' });
    });
  });
}

/** The nearest existing ancestor of a path (statfs needs one). */
export function existingAncestor(p: string): string {
  let dir = path.resolve(p);
  while (!fs.existsSync(dir)) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

export type ClockSync = { state: 'synchronized' | 'unsynchronized' | 'unknown'; source: string; detail: string };

/**
 * Is the system clock synchronized? Evidence timestamps are only as good as the clock.
 * Asks timedatectl (systemd-timesyncd or chrony via timedated), then chronyc, then ntpq; says
 * 'unknown' plainly when none of them answers (containers, minimal images).
 */
export async function clockSync(): Promise<ClockSync> {
  const td = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
  if (td.ok && /^(yes|no)$/.test(td.stdout.trim())) {
    const yes = td.stdout.trim() === 'yes';
    return { state: yes ? 'synchronized' : 'unsynchronized', source: 'timedatectl', detail: `NTPSynchronized=${td.stdout.trim()}` };
  }
  const ch = await run('chronyc', ['tracking']);
  if (ch.ok) {
    const leap = /Leap status\s*:\s*(.+)/.exec(ch.stdout)?.[1]?.trim() ?? '';
    return { state: leap === 'Normal' ? 'synchronized' : 'unsynchronized', source: 'chronyc', detail: `Leap status: ${leap || '?'}` };
  }
  const nq = await run('ntpq', ['-pn']);
  if (nq.ok) {
    const sys = nq.stdout.split('\n').find((l) => l.startsWith('*'));
    return { state: sys ? 'synchronized' : 'unsynchronized', source: 'ntpq', detail: sys ? `peer ${sys.slice(1).split(/\s+/)[0]}` : 'no system peer' };
  }
  return { state: 'unknown', source: 'none', detail: td.missing ? 'timedatectl, chronyc and ntpq not available' : `timedatectl: ${(td.stderr || td.stdout).trim().split('\n')[0] || 'no answer'}` };
}
