import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../sim/terminals/httpc.js';
import { startCheckin } from './harness.js';
import { TerminalReservations } from './server.js';
import { until } from './testutil.js';

/** Open a connection from `local` and send nothing; resolves with what the server wrote before it closed. */
function idle(port: number, local: string): { sock: net.Socket; answer: Promise<string> } {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress: local });
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  const answer = new Promise<string>((resolve) => {
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
  });
  return { sock, answer };
}

describe('untrusted gate: idle connections cannot hold every slot', () => {
  let s: Awaited<ReturnType<typeof startCheckin>>;
  beforeAll(async () => {
    // a terminal with its own token and no allowlist: not trusted before it proves itself
    s = await startCheckin({ checkin: { headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 }, terminals: [{ id: 'wh-9', protocol: 'webhook', token: 'wh-9-token-abcdef' }] });
  });
  afterAll(async () => s?.stop());

  it('20 silent connections from elsewhere: a terminal still gets in; the silent ones are answered 408 and closed', async () => {
    const silent = Array.from({ length: 20 }, (_, i) => idle(s.port, `127.0.3.${i + 2}`));
    await Promise.all(silent.map((x) => new Promise((r) => x.sock.once('connect', r))));
    // the headers timeout is 60 s here: without shedding the terminal would wait that long
    const r = await request(`${s.base}/api/v1/checkins`, {
      body: JSON.stringify({ terminal: 'wh-9', person: 'P-gate-1', at: new Date().toISOString() }),
      headers: { authorization: 'Bearer wh-9-token-abcdef', 'content-type': 'application/json' },
      timeoutMs: 40_000,
    });
    expect(r.status).toBe(200);
    // the 16 served before the terminal were shed while others waited: 408, then closed (the
    // last 4, with nobody waiting after the terminal, keep their slots until the headers timeout)
    const answers: string[] = [];
    for (const x of silent) void x.answer.then((a) => answers.push(a));
    await until(() => answers.length >= 16, `16 silent connections shed (got ${answers.length})`, 30_000);
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 408')).length).toBeGreaterThanOrEqual(16);
    for (const x of silent) x.sock.destroy();
  }, 60_000);
});

describe('terminal reservations (addresses exempt from the total cap and the gate)', () => {
  it('per terminal, its last 2 addresses, for an hour', () => {
    const r = new TerminalReservations();
    r.add('hik-1', '10.0.0.1', 0);
    r.add('hik-1', '10.0.0.2', 1);
    r.add('hik-1', '10.0.0.3', 2);
    expect([r.has('10.0.0.1', 3), r.has('10.0.0.2', 3), r.has('10.0.0.3', 3)]).toEqual([false, true, true]);
    r.add('hik-2', '10.0.0.1', 4);
    expect(r.has('10.0.0.1', 5)).toBe(true);
    expect(r.has('10.0.0.1', 4 + 3_600_000)).toBe(false);
    expect(r.has('10.0.0.3', 3_599_999)).toBe(true);
  });
});
