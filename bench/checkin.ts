import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './index.js';

/**
 * Durable check-ins per second through the webhook (one check-in per request) and through
 * ZKTeco ATTLOG batches, against the agent's check-in server in its own process (WAL,
 * synchronous=FULL, group commit), beside a bare node:http server on the same port answering
 * without storing. The load generator runs in this process on loopback.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const SERVE = path.join(here, '../agent/checkin/serve.js');
const BARE = path.join(here, 'checkin-bare.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNS = Number(process.env.BENCH_CONNS ?? 32);
const ZK_BATCH = 100;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function launch(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => /"port"/.test(d.toString()) && resolve(child));
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
}

async function stopChild(c: ChildProcess) {
  const done = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await done;
}

interface Result {
  checkins: number;
  perSec: number;
  p50: number;
  p99: number;
  errors: number;
}

type Kind = 'webhook' | 'webhook20' | 'zk';

async function load(port: number, kind: Kind): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS });
  const lat: number[] = [];
  let checkins = 0;
  let errors = 0;
  let seq = 0;
  const end = performance.now() + SECONDS * 1000;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const n = seq++;
      let body: string;
      let pathq: string;
      let items: number;
      if (kind === 'webhook') {
        body = JSON.stringify({ id: `b${n}`, terminal: 'door-1', person: String(1000 + (n % 80)), at: new Date(Date.UTC(2026, 9, 4) + n * 1000).toISOString() });
        pathq = '/api/v1/checkins';
        items = 1;
      } else if (kind === 'webhook20') {
        body = JSON.stringify(
          Array.from({ length: 20 }, (_, i) => ({ id: `m${n}-${i}`, terminal: 'door-1', person: String(1000 + (i % 80)), at: new Date(Date.UTC(2026, 9, 4) + n * 1000 + i).toISOString() })),
        );
        pathq = '/api/v1/checkins';
        items = 20;
      } else {
        const rows: string[] = [];
        for (let i = 0; i < ZK_BATCH; i++) {
          const k = n * ZK_BATCH + i;
          const d = new Date(Date.UTC(2026, 0, 1) + k * 1000);
          rows.push(`${1000 + (k % 80)}\t${d.toISOString().slice(0, 19).replace('T', ' ')}\t0\t15\t0\t0`);
        }
        body = rows.join('\r\n') + '\r\n';
        pathq = `/iclock/cdata?SN=BENCH1&table=ATTLOG&Stamp=${n}`;
        items = ZK_BATCH;
      }
      const t0 = performance.now();
      const req = http.request(
        { host: '127.0.0.1', port, path: pathq, method: 'POST', agent, headers: { authorization: 'Bearer bench', 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) {
              lat.push(performance.now() - t0);
              checkins += items;
            } else errors++;
            resolve();
          });
        },
      );
      req.on('error', () => (errors++, resolve()));
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNS }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  return { checkins, perSec: checkins / secs, p50: q(0.5), p99: q(0.99), errors };
}

const fmt = (r: Result) =>
  `${Math.round(r.perSec).toString().padStart(7)} check-ins/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (${r.checkins} in ${SECONDS} s, ${r.errors} errors)`;

export const checkinBench: Bench = {
  name: 'checkin',
  title: `durable check-ins/s (webhook 1 and 20 per request, ZKTeco ATTLOG ${ZK_BATCH} per request), ${CONNS} connections, vs bare node:http on the same port`,
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-bench-checkin-'));
    // shared machines: the load says how much of the CPUs the figures below really had
    console.log(
      `  ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    try {
      for (const kind of ['webhook', 'webhook20', 'zk'] as const) {
        const port = await freePort();
        const bare = await launch([BARE, String(port)]);
        const base = await load(port, kind);
        await stopChild(bare);
        const db = path.join(dir, `${kind}.db`);
        const cfg = { checkin: { token: 'bench', listen: { host: '127.0.0.1', port } }, terminals: [{ id: 'zk-bench', protocol: 'zkteco', serial: 'BENCH1' }] };
        const agentProc = await launch([SERVE, db, JSON.stringify(cfg)]);
        const r = await load(port, kind);
        await stopChild(agentProc);
        // durable means on disk: count what the store holds after the server exited
        const { Store } = await import('../agent/store/store.js');
        const st = new Store({ file: db });
        const stored = st.db.prepare('SELECT COUNT(*) FROM checkins').pluck().get() as number;
        st.close();
        console.log(`  ${kind.padEnd(9)} bare node:http ${fmt(base)}`);
        console.log(`  ${kind.padEnd(9)} agent (durable) ${fmt(r)}`);
        console.log(`  ${kind.padEnd(9)} ratio agent/bare ${(r.perSec / base.perSec).toFixed(3)}; stored ${stored} of ${r.checkins} acknowledged${stored === r.checkins ? '' : '  MISMATCH'}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
