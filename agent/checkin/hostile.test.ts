import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { Store } from '../store/store.js';
import { ensureBuilt } from './testutil.js';

/**
 * The check-in port attacked as an attacker would, on loopback, against the real daemon process
 * (dist/agent/cli/main.js run): floods come from 127.0.0.2 and up (Linux routes all of 127/8 to
 * loopback), the configured terminals push from 127.0.0.1 all along. Asserted: every valid
 * check-in answered 200 and stored exactly once, every bad request answered with its 4xx (no
 * reset before the answer), answers small. Printed, not asserted (the machine is shared): latency
 * of the valid check-ins and the daemon's peak RSS (target ≤ 250 MB).
 */

const MB = 1_048_576;
const ZK_SN = 'ZKHOSTILE01';
const WH_TOKEN = 'wh-1-token-0123456789';

interface Raw {
  status: number;
  bytes: number;
  head: string;
  reset: boolean;
  /** how the exchange ended, for a failure's message: 'answer', 'close', 'timeout' or the error code */
  ended: string;
}

/** One raw HTTP exchange from `local` (a 127.x address): writes `parts` with `gapMs` between them, reads until the server closes or the first answer is whole. */
function raw(port: number, local: string, parts: (string | Buffer)[], o: { gapMs?: number; timeoutMs?: number } = {}): Promise<Raw> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: local });
    const got: Buffer[] = [];
    let n = 0;
    let reset = false;
    let settled = false;
    let ended = 'answer';
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      const buf = Buffer.concat(got);
      const head = buf.subarray(0, 512).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : 0, bytes: n, head, reset, ended });
    };
    const timer = setTimeout(() => ((ended = 'timeout'), done()), o.timeoutMs ?? 60_000);
    s.on('data', (d: Buffer) => {
      n += d.length;
      got.push(d);
      const buf = Buffer.concat(got);
      const he = buf.indexOf('\r\n\r\n');
      const cl = /content-length: (\d+)/i.exec(buf.subarray(0, he > 0 ? he : 0).toString('latin1'));
      if (he > 0 && cl && buf.length >= he + 4 + Number(cl[1])) done();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') reset = true;
      if (!settled) ended = e.code ?? 'error';
      done();
    });
    s.on('close', () => {
      if (!settled && ended === 'answer') ended = 'close';
      done();
    });
    s.on('connect', async () => {
      for (const p of parts) {
        if (settled || s.destroyed) return;
        s.write(p);
        if (o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
      }
    });
  });
}

function startDaemon(dir: string) {
  const cfg = [
    `paths:\n  state: ${path.join(dir, 'state')}`,
    'sync:\n  enabled: false',
    'vision:\n  enabled: false',
    'log:\n  level: debug\n  healthSeconds: 0',
    'checkin:\n  listen: { host: 127.0.0.1, port: 0 }\n  headersTimeoutMs: 2000\n  requestTimeoutMs: 4000\n  idleTimeoutMs: 5000',
    'terminals:',
    `  - { id: zk-1, protocol: zkteco, serial: ${ZK_SN}, allow: [127.0.0.1] }`,
    `  - { id: wh-1, protocol: webhook, token: ${WH_TOKEN}, allow: [127.0.0.1] }`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'agent.yaml'), cfg);
  const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'dist/agent/cli/main.js'), 'run', '--config', path.join(dir, 'agent.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NOTIFY_SOCKET: '' },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-5_000_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-5_000_000)));
  return { child, out: () => out };
}

/** The valid terminals' loop (run with node -e in a process of its own): one JSON line per punch; stops when stdin closes. */
const VALID_TERMINALS = `
import http from 'node:http';
const [port, sn, token] = process.argv.slice(1);
let stop = false;
process.stdin.on('data', () => {}).on('end', () => (stop = true));
for (let i = 0; !stop; i++) {
  const pin = 'V' + i;
  const at = new Date(Date.UTC(2026, 9, 4, 0, 0, 0) + i * 1000);
  const zk = i % 2 === 0;
  // the ZKTeco line carries Beijing wall time, no zone
  const local = new Date(at.getTime() + 8 * 3600000).toISOString().slice(0, 19).replace('T', ' ');
  const t = performance.now();
  const wall = Date.now();
  let connectMs = -1;
  const status = await new Promise((resolve) => {
    const body = zk ? pin + '\\t' + local + '\\t0\\t15\\t0\\t0\\n' : JSON.stringify({ terminal: 'wh-1', person: pin, at: at.toISOString() });
    const req = http.request(
      zk ? 'http://127.0.0.1:' + port + '/iclock/cdata?SN=' + sn + '&table=ATTLOG' : 'http://127.0.0.1:' + port + '/api/v1/checkins',
      { method: 'POST', agent: false, localAddress: '127.0.0.1', timeout: 30000, headers: zk ? {} : { authorization: 'Bearer ' + token, 'content-type': 'application/json' } },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); },
    );
    req.on('socket', (s) => s.once('connect', () => (connectMs = Math.round(performance.now() - t))));
    req.on('error', () => resolve(-1));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
  process.stdout.write(JSON.stringify({ kind: zk ? 'zk' : 'webhook', pin, status, ms: Math.round(performance.now() - t), connectMs, wall }) + '\\n');
  await new Promise((r) => setTimeout(r, 100));
}
`;

function rssKb(pid: number): { rss: number; hwm: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] : NaN);

describe('check-in port under hostile load (daemon process)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-hostile-'));
  let d: ReturnType<typeof startDaemon>;
  let port = 0;
  let peakRss = 0;
  let sampler: NodeJS.Timeout;

  beforeAll(async () => {
    ensureBuilt();
    d = startDaemon(dir);
    const t0 = Date.now();
    for (;;) {
      const m = /"listen":\{[^}]*"port":(\d+)/.exec(d.out());
      if (m) {
        port = Number(m[1]);
        break;
      }
      if (Date.now() - t0 > 60_000 || d.child.exitCode !== null) throw new Error(`daemon did not start:\n${d.out().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, rssKb(d.child.pid!).rss);
      } catch {
        /* exited */
      }
    }, 100);
  }, 120_000);

  afterAll(async () => {
    clearInterval(sampler);
    if (d?.child.exitCode === null) {
      d.child.kill('SIGTERM');
      await new Promise((r) => d.child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps answering valid check-ins, exactly once, while floods, slow clients and garbage arrive', async () => {
    const child: ChildProcess = d.child;
    // --- the valid terminals, from 127.0.0.1, all along: a punch every 100 ms, fresh connection each.
    // In a process of their own: the floods below are generated in this one, and a valid client
    // sharing its event loop with 1 GB of hostile writes would measure this process, not the daemon.
    const valid: { kind: string; pin: string; status: number; ms: number }[] = [];
    const terminals = spawn(process.execPath, ['--input-type=module', '-e', VALID_TERMINALS, String(port), ZK_SN, WH_TOKEN], { stdio: ['pipe', 'pipe', 'inherit'] });
    let pending = '';
    terminals.stdout!.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) if (l.trim()) valid.push(JSON.parse(l));
    });
    const terminalsDone = new Promise((r) => terminals.once('exit', r));
    const stopValid = () => terminals.stdin!.end();

    const phases: Record<string, { n: number; statuses: Record<string, number>; resets: number; maxAnswer: number; ms: number }> = {};
    const record = async (name: string, run: () => Promise<Raw[]>) => {
      const t = Date.now();
      const rs = await run();
      const statuses: Record<string, number> = {};
      for (const r of rs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      phases[name] = { n: rs.length, statuses, resets: rs.filter((r) => r.reset && !r.status).length, maxAnswer: Math.max(...rs.map((r) => r.bytes)), ms: Date.now() - t };
      return rs;
    };
    const from = (i: number, per: number, base = 2) => `127.0.${Math.floor((base + Math.floor(i / per)) / 250)}.${((base + Math.floor(i / per)) % 250) + 2}`;

    // 1. 1,000 unauthenticated connections at once, each with a 1 MB body: wrong token, unknown serial, unknown Hikvision id
    const mb = Buffer.alloc(MB, 0x61);
    const flood = await record('1000 unauthenticated × 1 MB', () =>
      Promise.all(
        Array.from({ length: 1000 }, (_, i) => {
          const target = [
            `POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-${i}\r\n`,
            `POST /iclock/cdata?SN=NOPE${i}&table=ATTLOG HTTP/1.1\r\nHost: x\r\n`,
            `POST /hikvision/cam-${i} HTTP/1.1\r\nHost: x\r\n`,
          ][i % 3];
          return raw(port, from(i, 25), [`${target}Content-Type: application/json\r\nContent-Length: ${MB}\r\n\r\n`, mb]);
        }),
      ),
    );
    // 401 before the body; 408 when the flood itself kept the server from reading a request's headers within headersTimeout
    expect(
      flood.filter((r) => r.status !== 401 && r.status !== 408).map((r) => `${r.status} ${r.ended} after ${r.bytes} B`),
      d.out().slice(-4000),
    ).toEqual([]);
    const rssAfterFlood = rssKb(child.pid!);

    // 2. slow clients: headers a byte every 300 ms (cut at headersTimeout: 408), a body trickling (requestTimeout)
    const slow = await record('slow clients', () =>
      Promise.all([
        ...Array.from({ length: 100 }, (_, i) => raw(port, from(i, 20, 300), [...'POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\n'], { gapMs: 300, timeoutMs: 30_000 })),
        ...Array.from({ length: 50 }, (_, i) =>
          raw(port, from(i, 20, 320), [`POST /iclock/cdata?SN=${ZK_SN}&table=ATTLOG HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`, ...Array.from({ length: 40 }, () => 'x')], {
            gapMs: 300,
            timeoutMs: 30_000,
          }),
        ),
      ]),
    );
    // the trickling bodies come from 127.0.1.x, not the ZKTeco terminal's allowed address: refused before their body
    // (503: the flood's half-closed sockets still fill the total for their few seconds of grace)
    expect(
      slow
        .slice(0, 100)
        .filter((r) => !(r.status === 408 || r.status === 503 || (r.status === 0 && !r.reset)))
        .map((r) => JSON.stringify(r).slice(0, 300)),
    ).toEqual([]);
    // 401 once served; 408 when the untrusted gate (8 served at once, silent ones shed after 250 ms)
    // did not reach it within the request timeout: both before a byte of the body is read
    expect(slow.slice(100).filter((r) => r.status !== 401 && r.status !== 408 && r.status !== 503)).toEqual([]);

    // 3. 2,000 concurrent connections, opened together and held idle (no request): capped, then timed out
    const conc = await record('2000 concurrent idle', () => Promise.all(Array.from({ length: 2000 }, (_, i) => raw(port, from(i, 30, 400), [], { timeoutMs: 20_000 }))));
    // over the total or the per-address cap: 503 or 429, answered before a byte is read; never a reset
    expect(conc.filter((r) => !(r.status === 408 || r.status === 429 || r.status === 503 || (r.status === 0 && !r.reset))).map((r) => JSON.stringify(r).slice(0, 300))).toEqual([]);

    // 4. JSON amplification with a valid token: 1 MB of items that are each one reject
    const items = `[${Array.from({ length: Math.floor((MB - 2) / 3) }, () => '{}').join(',')}]`.slice(0, MB - 1);
    const ampBody = `${items.slice(0, items.lastIndexOf('{}') - 1)}]`;
    const thousand = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ terminal: 'x'.repeat(300), person: '', at: `bad-${i}`.repeat(40) })));
    const amp = await record('JSON amplification (valid token)', () =>
      Promise.all([
        raw(port, '127.0.0.1', [
          `POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WH_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(ampBody)}\r\n\r\n`,
          ampBody,
        ]),
        raw(port, '127.0.0.1', [`POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WH_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${2 * MB}\r\n\r\n`, mb, mb]),
        raw(port, '127.0.0.1', [
          `POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WH_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${thousand.length}\r\n\r\n`,
          thousand,
        ]),
      ]),
    );
    // 400: more items than one request may hold; 413: over the body limit; 422: 1,000 bad items, 20 of their 3,000 rejects listed
    expect(amp.map((r) => r.status)).toEqual([400, 413, 422]);
    expect(Math.max(...amp.map((r) => r.bytes))).toBeLessThan(8192);

    // 5. malformed HTTP and escapes
    const bad: [string, number][] = [
      ['GET /hikvision/%E4%zz HTTP/1.1\r\nHost: x\r\n\r\n', 404],
      ['POST /hikvision/% HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', 404],
      ['GET /%%%% HTTP/1.1\r\nHost: x\r\n\r\n', 404],
      ['HELLO\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 400],
      ['POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(20_000) + '\r\n\r\n', 431],
      ['GET / HTTP/1.1\r\nBad Header\r\n\r\n', 400],
      ['\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03', 400],
    ];
    const mal = await record('malformed HTTP and escapes', () => Promise.all(bad.map(([req], i) => raw(port, from(i, 1, 700), [req], { timeoutMs: 10_000 }))));
    expect(mal.map((r) => r.status)).toEqual(bad.map(([, s]) => s));

    stopValid();
    await terminalsDone;
    const hwm = rssKb(child.pid!).hwm;
    const lat = valid.map((v) => v.ms);
    console.log(
      [
        `hostile load against the daemon (shared ${os.cpus().length}-core machine, load average ${os
          .loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')}: figures indicative)`,
        ...Object.entries(phases).map(([k, v]) => `  ${k}: ${v.n} clients, answers ${JSON.stringify(v.statuses)}, resets before an answer ${v.resets}, largest answer ${v.maxAnswer} B, ${v.ms} ms`),
        `  valid check-ins: ${valid.length}, latency p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms, max ${Math.max(...lat)} ms, over 1 s: ${lat.filter((x) => x > 1000).length}`,
        `  daemon RSS after the 1 MB flood ${Math.round(rssAfterFlood.rss / 1024)} MB; peak RSS (VmHWM) ${Math.round(hwm / 1024)} MB, sampled peak ${Math.round(peakRss / 1024)} MB (target ≤ 250 MB)`,
      ].join('\n'),
    );
    if (process.env.HOSTILE_DUMP) {
      fs.writeFileSync(`${process.env.HOSTILE_DUMP}.valid.jsonl`, valid.map((v) => JSON.stringify(v)).join('\n'));
      fs.writeFileSync(`${process.env.HOSTILE_DUMP}.daemon.log`, d.out());
      fs.writeFileSync(`${process.env.HOSTILE_DUMP}.phases.json`, JSON.stringify(phases));
    }
    expect(child.exitCode).toBe(null);
    expect(valid.filter((v) => v.status !== 200)).toEqual([]);
    expect(valid.length).toBeGreaterThan(10);
    // stored exactly once, nothing from the floods
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const store = new Store({ file: path.join(dir, 'state', 'evidence.db') });
    try {
      const rows = store.db.prepare('SELECT person, COUNT(*) AS n FROM checkins GROUP BY person').all() as { person: string; n: number }[];
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      expect(rows.map((r) => r.person).sort()).toEqual(valid.map((v) => v.pin).sort());
      const rawRows = store.db.prepare('SELECT terminal, COUNT(*) AS n, MAX(length(body)) AS big, MAX(length(error)) AS err FROM raw_inputs GROUP BY terminal').all() as {
        terminal: string;
        n: number;
        big: number;
        err: number;
      }[];
      console.log(`  raw inputs kept: ${JSON.stringify(rawRows)}`);
      // only the two configured terminals wrote; the amplification's stored rejects are small
      expect(rawRows.map((r) => r.terminal).sort()).toEqual(['wh-1', 'zk-1']);
      expect(Math.max(...rawRows.map((r) => r.err ?? 0))).toBeLessThan(4096);
    } finally {
      store.close();
    }
  }, 400_000);
});
