import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './index.js';

/**
 * The check-in port's HTTP layer under hostile load, both candidates side by side in one run:
 * the agent's hardened node:http server (serve.js) and a Fastify variant (edge-fastify.js) with
 * the same admission before the body and the same store path. While HOSTILE unauthenticated
 * clients each push a 1 MB body (from 127.0.0.2 and up), 8 valid clients post check-ins for
 * SECONDS; printed: valid check-ins/s, latency, refusals answered vs reset, server peak RSS.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const SERVE = path.join(here, '../agent/checkin/serve.js');
const FASTIFY = path.join(here, 'edge-fastify.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const HOSTILE = Number(process.env.BENCH_HOSTILE ?? 300);
const TOKEN = 'edge-bench-token';
const MB = 1_048_576;

function launch(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error' } });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /"port":(\d+)/.exec(d.toString());
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
}

const hwmMb = (pid: number) => Math.round(Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

/** One unauthenticated 1 MB push; resolves 'answered' when a status line came back before any reset. */
function hostile(port: number, i: number, body: Buffer): Promise<'answered' | 'reset'> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.${Math.floor(i / 25 / 250)}.${(Math.floor(i / 25) % 250) + 2}` });
    let got = '';
    const end = (r: 'answered' | 'reset') => {
      s.destroy();
      resolve(r);
    };
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (/^HTTP\/1\.1 \d{3}/.test(got)) end('answered');
    });
    s.on('error', () => end(/^HTTP\/1\.1 \d{3}/.test(got) ? 'answered' : 'reset'));
    s.on('close', () => end(/^HTTP\/1\.1 \d{3}/.test(got) ? 'answered' : 'reset'));
    s.on('connect', () => {
      s.write(`POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: ${MB}\r\n\r\n`);
      s.write(body);
    });
  });
}

async function run(port: number, pid: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const lat: number[] = [];
  let n = 0;
  let errors = 0;
  const end = performance.now() + SECONDS * 1000;
  const valid = async (w: number) => {
    while (performance.now() < end) {
      const i = n++;
      const body = JSON.stringify({ id: `b${w}-${i}`, terminal: 'bench', person: `P${i}`, at: new Date(Date.UTC(2026, 9, 5) + i * 1000).toISOString() });
      const t = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        const req = http.request(
          {
            port,
            host: '127.0.0.1',
            path: '/api/v1/checkins',
            method: 'POST',
            agent,
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode === 200));
          },
        );
        req.on('error', () => resolve(false));
        req.end(body);
      });
      if (ok) lat.push(performance.now() - t);
      else errors++;
    }
  };
  const big = Buffer.alloc(MB, 0x61);
  const t0 = performance.now();
  const [flood] = await Promise.all([Promise.all(Array.from({ length: HOSTILE }, (_, i) => hostile(port, i, big))), ...Array.from({ length: 8 }, (_, w) => valid(w))]);
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  return { perSec: lat.length / secs, p50: q(0.5), p99: q(0.99), errors, answered: flood.filter((x) => x === 'answered').length, reset: flood.filter((x) => x === 'reset').length, rss: hwmMb(pid) };
}

export const edgeBench: Bench = {
  name: 'edge',
  title: `check-in HTTP layer under ${HOSTILE} unauthenticated 1 MB clients: hardened node:http (the agent) vs Fastify, same admission and store path`,
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-bench-edge-'));
    console.log(
      `  ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    try {
      for (const v of ['node:http (agent)', 'fastify'] as const) {
        const db = path.join(dir, `${v.startsWith('f') ? 'fastify' : 'node'}.db`);
        const cfg = { checkin: { token: TOKEN, listen: { host: '127.0.0.1', port: 0 } } };
        const { child, port } = await launch(v.startsWith('f') ? [FASTIFY, db, TOKEN] : [SERVE, db, JSON.stringify(cfg)]);
        const r = await run(port, child.pid!);
        await new Promise((res) => {
          child.once('exit', res);
          child.kill('SIGTERM');
        });
        console.log(
          `  ${v.padEnd(18)} ${Math.round(r.perSec).toString().padStart(5)} valid check-ins/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  (${r.errors} failed)  refusals answered ${r.answered}/${HOSTILE}, reset ${r.reset}  peak RSS ${r.rss} MB (targets: p99 ≤ 1000 ms, peak RSS ≤ 250 MB)`,
        );
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
