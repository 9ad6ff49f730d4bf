import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Bench } from './index.js';
import { hashPassword } from '../agent/console/auth.js';
import { ConsoleServer } from '../agent/console/server.js';
import { PACKAGE_ROOT } from '../agent/core/paths.js';
import { Recorder } from '../agent/recorder/recorder.js';
import { makeContext } from '../agent/recorder/testkit.js';
import { RtspServer } from '../agent/sim/rtsp/server.js';
import { ConsoleRepo } from '../agent/store/console.js';

/**
 * The console's live view costs: the box's CPU (the agent's node process and the recorder's
 * ffmpeg) with the recorder alone, then with the console on and 0, 1 and 4 viewers of one
 * camera. Viewers run in a separate process (they are the browsers, not the box). Short
 * windows: BENCH_CONSOLE_WINDOW_MS (default 15 s) each.
 */
const WINDOW_MS = Number(process.env.BENCH_CONSOLE_WINDOW_MS ?? 15_000);
const TICK = 100; // clock ticks per second of /proc/PID/stat on Linux

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ticksOf(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]); // utime + stime
  } catch {
    return 0;
  }
}

function ffmpegChildren(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('ffmpeg')) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function measure(): Promise<{ agent: number; ffmpeg: number }> {
  const pids = ffmpegChildren();
  const f0 = pids.map(ticksOf);
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await sleep(WINDOW_MS);
  const secs = (Date.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const ff = pids.reduce((s, p, i) => s + ticksOf(p) - f0[i], 0) / TICK;
  return { agent: (c.user + c.system) / 1e6 / secs, ffmpeg: ff / secs };
}

/** N WebSocket viewers in their own process; prints the bytes received when killed. */
function viewers(url: string, cookie: string, n: number) {
  const code = `import WebSocket from 'ws'; let bytes = 0; for (let i = 0; i < ${n}; i++) { const s = new WebSocket(${JSON.stringify(url)}, { headers: { cookie: ${JSON.stringify(cookie)} } }); s.on('message', (d) => (bytes += d.length)); } process.on('SIGTERM', () => { process.stdout.write(String(bytes)); process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(Number(out) || 0);
        child.on('close', () => resolve(Number(out) || 0));
        child.kill('SIGTERM');
      }),
  };
}

export const consoleBench: Bench = {
  name: 'console',
  title: 'box CPU with 0, 1 and 4 live viewers of one camera, beside the recorder alone',
  async run() {
    // a classroom camera's main stream: 720p, 2 Mb/s, 1 s GOP
    const rtsp = await new RtspServer({ width: 1280, height: 720, keyint: 25, bitrateKbps: 2048 }).start();
    const ctx = makeContext({
      cameras: [{ id: 'cam-1', rtspUrl: rtsp.url }],
      recorder: { schedule: 'always' },
      console: { listen: { host: '127.0.0.1', port: 0 } },
      vision: { enabled: false },
      sync: { enabled: false },
    });
    new ConsoleRepo(ctx.store).addUser('bench', 'technician', await hashPassword('bench-pass-1'));
    const rec = new Recorder(ctx);
    const con = new ConsoleServer(ctx);
    try {
      await rec.start();
      await sleep(5000);
      const rows: Array<[string, { agent: number; ffmpeg: number }, string]> = [];
      rows.push(['recorder alone (console off)', await measure(), '']);
      await con.start();
      const base = `http://127.0.0.1:${con.port}`;
      const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench', password: 'bench-pass-1' }) });
      const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
      rows.push(['console on, 0 viewers', await measure(), '']);
      for (const n of [1, 4]) {
        const v = viewers(`${base.replace('http', 'ws')}/api/live/cam-1`, cookie, n);
        await sleep(2000);
        const m = await measure();
        const bytes = await v.stop();
        rows.push([`console on, ${n} viewer${n > 1 ? 's' : ''}`, m, `${(bytes / 1024 / 1024).toFixed(1)} MB received by the viewers`]);
        await sleep(500);
      }
      const base0 = rows[0][1].agent + rows[0][1].ffmpeg;
      console.log(`  window ${WINDOW_MS / 1000} s each; CPU as % of one core; the machine is shared, so figures are under load`);
      for (const [name, m, extra] of rows) {
        const total = m.agent + m.ffmpeg;
        console.log(
          `  ${name.padEnd(30)} agent ${(m.agent * 100).toFixed(1).padStart(5)} %  ffmpeg ${(m.ffmpeg * 100).toFixed(1).padStart(5)} %  box ${(total * 100).toFixed(1).padStart(5)} %  (×${(total / base0).toFixed(2)} of recorder alone)  ${extra}`,
        );
      }
    } finally {
      await con.stop();
      await rec.stop();
      await rtsp.stop();
      ctx.cleanup();
    }
  },
};
