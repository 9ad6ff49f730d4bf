import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireCommand } from './preflight.js';
import { SdNotify } from './sdnotify.js';

/**
 * A real AF_UNIX datagram socket stands in for PID 1's notify socket (python3, since Node cannot
 * open one): it prints every datagram it receives, so we see exactly what systemd would read.
 */
function notifySocket(): Promise<{ sock: string; proc: ChildProcess; messages: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-sdnotify-'));
  const sock = path.join(dir, 'notify');
  const py = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    data = s.recv(65536)
    print(data.decode().replace("\\n", "|"), flush=True)
`;
  const proc = spawn('python3', ['-c', py, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l === 'ready') resolve({ sock, proc, messages });
        else messages.push(l);
      }
    });
    proc.on('error', reject);
  });
}

const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill();
});

describe('SdNotify', () => {
  it('is a no-op outside systemd', async () => {
    const n = new SdNotify({});
    expect(n.available).toBe(false);
    expect(await n.ready()).toBe(false);
    expect(n.startWatchdog()).toBeUndefined();
  });

  it('computes the watchdog interval as half of WATCHDOG_USEC, only for our pid', () => {
    expect(new SdNotify({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '20000000' }, 'systemd-notify', 42).watchdogIntervalMs()).toBe(10_000);
    expect(new SdNotify({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '20000000', WATCHDOG_PID: '7' }, 'systemd-notify', 42).watchdogIntervalMs()).toBeUndefined();
    expect(new SdNotify({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: 'junk' }).watchdogIntervalMs()).toBeUndefined();
    expect(new SdNotify({ WATCHDOG_USEC: '20000000' }).watchdogIntervalMs()).toBeUndefined();
  });

  it('soft-fails when systemd-notify is missing', async () => {
    const n = new SdNotify({ NOTIFY_SOCKET: '/nonexistent/sock' }, '/nonexistent/systemd-notify');
    expect(await n.ready()).toBe(false);
  });

  it('delivers READY, WATCHDOG and STOPPING datagrams to $NOTIFY_SOCKET', async () => {
    requireCommand('systemd-notify'); // fails naming the Debian package rather than skipping
    const { sock, proc, messages } = await notifySocket();
    procs.push(proc);
    const n = new SdNotify({ ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' });
    expect(await n.ready('up')).toBe(true);
    expect(n.startWatchdog()).toBe(500);
    await new Promise((r) => setTimeout(r, 1800));
    expect(await n.stopping()).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const all = messages.join('\n');
    expect(all).toContain('READY=1');
    expect(all).toContain('STATUS=up');
    expect(all).toContain('STOPPING=1');
    expect(all).toContain(`MAINPID=${process.pid}`);
    expect(messages.filter((m) => m.includes('WATCHDOG=1')).length).toBeGreaterThanOrEqual(2);
  });
});
