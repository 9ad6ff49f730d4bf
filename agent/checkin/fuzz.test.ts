import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCheckin } from './harness.js';
import { request } from '../sim/terminals/httpc.js';
import { HikDevice } from '../sim/terminals/hikvision.js';
import { DahuaDevice } from '../sim/terminals/dahua.js';
import { until } from './testutil.js';
import type { DahuaStreams } from './dahua/client.js';

/**
 * Fuzz: 10,000+ mutated payloads (seeded mutator, reproducible with FUZZ_SEED) across the
 * webhook, ZKTeco ATTLOG and Hikvision push endpoints. The server must never crash, answer each
 * with the status its protocol promises, and store every raw input.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const N = Number(process.env.FUZZ_N ?? 10_200);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = ['"', '{', '}', '[', ']', ',', ':', '\t', '\r\n', '\n', '\0', '\\', '\u00ff', '--', 'null', '1e309', '-1', '\ud83d', '中'];

function mutate(base: Buffer, r: () => number): Buffer {
  let b = Buffer.from(base);
  const k = 1 + Math.floor(r() * 4);
  for (let i = 0; i < k; i++) {
    const pos = Math.floor(r() * (b.length + 1));
    switch (Math.floor(r() * 7)) {
      case 0: // bit flip
        if (b.length) b[Math.min(pos, b.length - 1)] ^= 1 << Math.floor(r() * 8);
        break;
      case 1: // delete a run
        b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + Math.floor(r() * 16))]);
        break;
      case 2: // insert a special token
        b = Buffer.concat([b.subarray(0, pos), Buffer.from(SPECIAL[Math.floor(r() * SPECIAL.length)]), b.subarray(pos)]);
        break;
      case 3: // truncate
        b = b.subarray(0, pos);
        break;
      case 4: // duplicate a slice (merged records)
        b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.floor(r() * b.length)), b.subarray(pos)]);
        break;
      case 5: // random bytes
        b = Buffer.concat([b.subarray(0, pos), Buffer.from(Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256))), b.subarray(pos)]);
        break;
      default: // unchanged (valid inputs must keep working amid the noise)
        break;
    }
  }
  return b.subarray(0, 60_000);
}

const zkLines = (b: Buffer) =>
  b
    .toString('utf8')
    .replace(/\0/g, '')
    .split(/\r?\n|\r/)
    .filter((l) => l.trim()).length;

let s: Awaited<ReturnType<typeof startCheckin>>;
beforeAll(async () => {
  s = await startCheckin({
    checkin: { token: 'fz' },
    terminals: [
      { id: 'zk', protocol: 'zkteco', serial: 'FZ1' },
      { id: 'hik', protocol: 'hikvision' },
    ],
  });
});
afterAll(async () => {
  await s.stop();
});

describe('fuzz', () => {
  it(`${N} mutated payloads: no crash, right status, raw stored`, async () => {
    const r = rng(SEED);
    const dev = new HikDevice();
    const hikBase = Buffer.from(dev.eventJson(dev.punch('1001', Date.parse('2026-10-04T08:30:00+08:00'))));
    const bases = {
      webhook: [
        Buffer.from(JSON.stringify({ id: 'a1', terminal: 'door', person: '1001', at: '2026-10-04T08:30:00+08:00', similarity: 90 })),
        Buffer.from(
          JSON.stringify([
            { terminal: 'door', person: '1002', at: '2026-10-04T08:31:00Z' },
            { id: 7, terminal: 'door', trainee: 'S1', at: '2026-10-04T08:32:00+08:00', verifyMode: 'face' },
          ]),
        ),
      ],
      zk: [Buffer.from('1001\t2026-10-04 08:30:00\t0\t15\t0\t0\r\n1002\t2026-10-04 08:30:05\t0\t1\t0\t0\r\n'), Buffer.from('2001 2026-10-04 09:00:00 0 15\n')],
      hik: [hikBase],
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const before = s.ctx.store.db.prepare('SELECT COUNT(*) FROM raw_inputs').pluck().get() as number;
    const wrong: string[] = [];
    const counts = { webhook: 0, zk: 0, hik: 0 };
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= N) return;
        const kind = (['webhook', 'zk', 'hik'] as const)[i % 3];
        const base = bases[kind][Math.floor(r() * bases[kind].length)];
        const body = mutate(base, r);
        counts[kind]++;
        if (kind === 'webhook') {
          const res = await request(`${s.base}/api/v1/checkins`, { body, agent, headers: { authorization: 'Bearer fz', 'content-type': 'application/json' } });
          let isJson = true;
          try {
            JSON.parse(body.toString('utf8'));
          } catch {
            isJson = false;
          }
          const ok = isJson ? res.status === 200 || res.status === 422 : res.status === 400;
          if (!ok) wrong.push(`webhook #${i}: ${res.status} for ${JSON.stringify(body.toString('utf8').slice(0, 80))}`);
        } else if (kind === 'zk') {
          const res = await request(`${s.base}/iclock/cdata?SN=FZ1&table=ATTLOG&Stamp=${i}`, { body, agent });
          // an ATTLOG with no readable row is refused (the terminal retries); anything else is OK: n
          const fine = (res.status === 200 && res.body === `OK: ${zkLines(body)}`) || (res.status === 400 && res.body.startsWith('ERROR'));
          if (!fine) wrong.push(`zk #${i}: ${res.status} ${res.body}`);
        } else {
          const res = await request(`${s.base}/hikvision/hik?token=fz`, { body, agent, headers: { 'content-type': 'application/json' } });
          let isJson = true;
          try {
            JSON.parse(body.toString('utf8').replace(/^\uFEFF/, ''));
          } catch {
            isJson = false;
          }
          // not JSON: never acknowledged as success; JSON: OK, or 400 when no event in it is readable
          const fine = isJson ? (res.status === 200 && res.body === 'OK') || res.status === 400 : res.status === 400;
          if (!fine) wrong.push(`hik #${i}: ${res.status}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    agent.destroy();
    expect(wrong.slice(0, 10)).toEqual([]);
    const after = s.ctx.store.db.prepare('SELECT COUNT(*) FROM raw_inputs').pluck().get() as number;
    expect(after - before).toBe(N);
    expect(s.ctx.store.db.prepare("SELECT COUNT(*) FROM raw_inputs WHERE status = 'received'").pluck().get()).toBe(0);
    // still alive and correct after the storm
    const ok = await request(`${s.base}/api/v1/checkins`, {
      body: JSON.stringify({ id: 'final', terminal: 'door', person: '1', at: '2026-10-04T08:30:00Z' }),
      headers: { authorization: 'Bearer fz' },
    });
    expect(ok.status).toBe(200);
    const st = s.ctx.store.db.prepare('SELECT status, COUNT(*) AS n FROM raw_inputs GROUP BY status').all();
    console.log(`fuzz seed ${SEED}: ${N} payloads (${JSON.stringify(counts)}), raw statuses ${JSON.stringify(st)}`);
  }, 180_000);
});

describe('fuzz over an event stream', () => {
  it('2,000 mutated Dahua parts on one attach stream: every part stored raw, the stream survives, a valid event still lands', async () => {
    const r = rng(SEED + 1);
    const dev = new DahuaDevice({ username: 'u', password: 'p' });
    const url = await dev.listen();
    const a = await startCheckin({ checkin: { streamHeartbeatTimeoutMs: 5000, reconnectMinMs: 50 }, terminals: [{ id: 'dh', protocol: 'dahua', url, username: 'u', password: 'p' }] });
    try {
      const n = (sql: string) => a.ctx.store.db.prepare(sql).pluck().get() as number;
      await until(() => dev.streamCount() === 1, 'attached');
      const base = Buffer.from(dev.partBody({ RecNo: 1, UTC: 1_790_000_000, UserID: '1001', Method: 15, Status: 1 }));
      const PARTS = 2000;
      let sent = 0;
      for (let i = 0; i < PARTS; i++) {
        let body = mutate(base, r);
        // the boundary marker inside a body would legitimately split it; a body equal to "Heartbeat" is a keep-alive
        body = Buffer.from(body.toString('latin1').replace(/--myboundary/g, '--myb0undary'), 'latin1');
        if (body.toString('latin1').trim() === 'Heartbeat' || body.toString('latin1').trim() === '') body = Buffer.from('x');
        dev.sendRaw(dev.part('text/plain', body));
        sent++;
        if (i % 200 === 0) await new Promise((res) => setTimeout(res, 5));
      }
      await until(() => n("SELECT COUNT(*) FROM raw_inputs WHERE channel='stream'") === sent, `${sent} stream parts stored`, 30_000);
      const live = dev.punch('777');
      await until(() => n(`SELECT COUNT(*) FROM checkins WHERE terminal = 'dh' AND counter = '${live.RecNo}'`) === 1, 'valid event after the storm');
      expect(a.server.stream<DahuaStreams>('dh')!.connects).toBe(1);
    } finally {
      await a.stop();
      await dev.close();
    }
  }, 60_000);
});
