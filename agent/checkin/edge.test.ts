import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../sim/terminals/httpc.js';
import { sign } from './auth.js';
import { startCheckin } from './harness.js';
import { RAW_BUDGET_ALARM } from './rawbudget.js';
import { until } from './testutil.js';
import { AlarmRepo } from '../store/alarms.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const terminals = [
  { id: 'zk-1', protocol: 'zkteco', serial: 'ZK1' },
  { id: 'hik-1', protocol: 'hikvision', token: 'hik-own' },
  { id: 'wh-a', protocol: 'webhook', token: 'tok-a' },
  { id: 'wh-b', protocol: 'webhook', hmacSecret: 'hm-b' },
  { id: 'wh-c', protocol: 'webhook', token: 'tok-c', allow: ['10.9.9.0/24'] },
  { id: 'wh-shared', protocol: 'webhook' },
];

async function setup(extra: Record<string, unknown> = {}) {
  const s = await startCheckin({ checkin: { token: 'shared', ...extra }, terminals });
  cleanups.push(() => s.stop());
  const count = (sql: string, ...a: unknown[]) =>
    s.ctx.store.db
      .prepare(sql)
      .pluck()
      .get(...a) as number;
  const post = (body: unknown, headers: Record<string, string>) =>
    request(`${s.base}/api/v1/checkins`, { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { s, count, post };
}
const item = (terminal: string, person: string) => ({ terminal, person, at: '2026-10-05T08:00:00+08:00' });

describe('each terminal proves it is itself', () => {
  it('a credential writes only as its own terminal; the shared one not as a terminal with its own or of another protocol', async () => {
    const { count, post } = await setup();
    // wh-a's token posting as the ZKTeco terminal (which would also clear its terminal-quiet alarm)
    const r1 = await post([item('wh-a', 'P1'), item('zk-1', 'P2')], { authorization: 'Bearer tok-a' });
    expect(r1.status).toBe(200);
    expect(JSON.parse(r1.body)).toMatchObject({ stored: 1, rejected: [{ where: 'terminal zk-1', message: expect.stringMatching(/only as terminal wh-a/) }] });
    // the shared token: as a plain webhook terminal yes, as zk-1 / hik-1 / wh-a (own credentials) no
    const r2 = await post([item('wh-shared', 'P3'), item('zk-1', 'P4'), item('hik-1', 'P5'), item('wh-a', 'P6')], { authorization: 'Bearer shared' });
    expect(JSON.parse(r2.body).stored).toBe(1);
    expect(JSON.parse(r2.body).rejected).toHaveLength(3);
    expect(count("SELECT COUNT(*) FROM checkins WHERE terminal = 'zk-1'")).toBe(0);
    expect(count("SELECT COUNT(*) FROM terminal_state WHERE terminal = 'zk-1'")).toBe(0);
    // a terminal's HMAC: X-Terminal names it, the signature is checked before anything is written
    const body = JSON.stringify([item('wh-b', 'P7')]);
    expect((await post(body, { 'x-terminal': 'wh-b', 'x-signature': sign(body, 'hm-b') })).status).toBe(200);
    expect((await post(body, { 'x-terminal': 'wh-b', 'x-signature': sign(body, 'wrong') })).status).toBe(401);
    expect((await post(body, { 'x-terminal': 'wh-a', 'x-signature': sign(body, 'hm-b') })).status).toBe(401);
    expect(count('SELECT COUNT(*) FROM checkins')).toBe(3);
    expect(count("SELECT COUNT(*) FROM raw_inputs WHERE terminal = 'wh-b'")).toBe(1);
  });

  it('source-address allowlists: the right token from the wrong address is refused', async () => {
    const { post } = await setup();
    expect((await post([item('wh-c', 'P1')], { authorization: 'Bearer tok-c' })).status).toBe(401); // from 127.0.0.1, allowed 10.9.9.0/24
  });

  it('unknown and unauthorised terminal ids get the same answer; a malformed escape is 404', async () => {
    const { s } = await setup();
    const push = (p: string, auth?: string) => request(`${s.base}${p}`, { body: '{}', headers: auth ? { authorization: auth } : {} });
    const unknown = await push('/hikvision/nope', 'Bearer hik-own');
    const wrong = await push('/hikvision/hik-1', 'Bearer shared'); // hik-1 has its own token: the shared one cannot write as it
    const none = await push('/hikvision/hik-1');
    expect([unknown.status, wrong.status, none.status]).toEqual([401, 401, 401]);
    expect(new Set([unknown.body, wrong.body, none.body]).size).toBe(1);
    expect((await push('/hikvision/hik-1', `Basic ${Buffer.from('admin:hik-own').toString('base64')}`)).status).toBe(200);
    expect((await push('/hikvision/%E4%zz', 'Bearer hik-own')).status).toBe(404);
    const zkUnknown = await request(`${s.base}/iclock/cdata?SN=NOPE&table=ATTLOG`, { body: 'x' });
    expect(zkUnknown.status).toBe(401);
  });

  it('?token= can be switched off (headers only)', async () => {
    const { s } = await setup({ allowQueryToken: false });
    expect((await request(`${s.base}/hikvision/hik-1?token=hik-own`, { body: '{}' })).status).toBe(401);
  });

  it('a refusal reaches the client: a 1 MB body behind a wrong token gets its 401, no reset, nothing stored', async () => {
    const { s, count } = await setup();
    const got = await new Promise<{ data: string; err?: string }>((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1');
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('error', (e: NodeJS.ErrnoException) => resolve({ data, err: e.code }));
      sock.on('close', () => resolve({ data }));
      sock.write(`POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: ${1_048_576}\r\n\r\n`);
      // the answer arrives before the body is sent at all: nothing of it was waited for
      sock.once('data', () => sock.end(Buffer.alloc(1_048_576, 0x61)));
    });
    // the answer came first; the body is not drained (Connection: close, then the socket is
    // closed), so a client still writing may see its write refused after it has read the answer
    expect(got.data).toMatch(/^HTTP\/1\.1 401/);
    expect(got.data).toMatch(/\r\nconnection: close\r\n/i);
    expect([undefined, 'ECONNRESET', 'EPIPE']).toContain(got.err);
    expect(count('SELECT COUNT(*) FROM raw_inputs')).toBe(0);
  });

  it('a refused small body is drained and the connection stays usable (a terminal with a wrong token is not cut off)', async () => {
    const { s } = await setup();
    const answers = await new Promise<string>((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1');
      let data = '';
      sock.on('data', (d) => {
        data += d.toString();
        if ((data.match(/HTTP\/1\.1 \d{3}/g) ?? []).length === 2 && data.endsWith('}')) sock.end();
      });
      sock.on('close', () => resolve(data));
      sock.on('error', () => resolve(data));
      const body = JSON.stringify(item('wh-a', 'KA1'));
      // both requests at once (pipelined): the refused one's body is read and thrown away, then the next is served
      sock.write(
        `POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
          `POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-a\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
    expect(answers.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 401', 'HTTP/1.1 200']);
  });

  it('HTTPS on the check-in port with a box certificate (openssl, as scripts/box-cert.sh makes it)', async () => {
    const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'ca-tls-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    execFileSync('sh', [path.join(import.meta.dirname, '../../scripts/box-cert.sh'), dir, 'box-test'], { stdio: 'ignore' });
    const { s } = await setup({ tls: { cert: path.join(dir, 'box.crt'), key: path.join(dir, 'box.key') } });
    const ca = fs.readFileSync(path.join(dir, 'box.crt'));
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: s.port, path: '/api/v1/checkins', method: 'POST', ca, servername: 'box-test', headers: { authorization: 'Bearer tok-a', 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(item('wh-a', 'TLS1')));
    });
    expect(status).toBe(200);
  });

  it('raw inputs over their size budget raise an alarm (nothing deleted)', async () => {
    const { s, count } = await setup({ rawBudgetBytes: 4000, healthIntervalMs: 100 });
    const lines = Array.from({ length: 120 }, (_, i) => `${1000 + i}\t2026-10-05 08:00:${String(i % 60).padStart(2, '0')}\t0\t15\t0\t0`).join('\n');
    expect((await request(`${s.base}/iclock/cdata?SN=ZK1&table=ATTLOG`, { body: lines })).status).toBe(200);
    const alarms = new AlarmRepo(s.ctx.store);
    await until(() => alarms.open().some((a) => a.kind === RAW_BUDGET_ALARM), 'raw budget alarm');
    expect(count('SELECT COUNT(*) FROM raw_inputs')).toBe(1);
  });
});
