import { afterEach, describe, expect, it } from 'vitest';
import { startCheckin } from '../harness.js';
import { WebhookClient } from '../../sim/terminals/webhook.js';
import net from 'node:net';
import { request } from '../../sim/terminals/httpc.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const s = await startCheckin({ checkin: { token: 'tok-123', hmacSecret: 'hm-456' } });
  cleanups.push(() => s.stop());
  return s;
}
const n = (s: Awaited<ReturnType<typeof setup>>, sql: string) => s.ctx.store.db.prepare(sql).pluck().get() as number;

describe('webhook POST /api/v1/checkins', () => {
  it('one or many, bearer or HMAC; duplicates by client id or content hash', async () => {
    const s = await setup();
    const bearer = new WebhookClient(s.base, { token: 'tok-123' }, 'sysA');
    const hmac = new WebhookClient(s.base, { hmacSecret: 'hm-456' }, 'sysA');
    cleanups.push(
      () => bearer.close(),
      () => hmac.close(),
    );
    const one = await bearer.send({ id: 'e1', terminal: 'door', person: 'P1', at: '2026-10-04T08:30:00+08:00', verifyMode: 'face', similarity: 93.5 });
    expect(one.status).toBe(200);
    expect(JSON.parse(one.body)).toMatchObject({ stored: 1, duplicates: 0, unknown: 1 });
    const many = await hmac.send([
      { id: 'e1', terminal: 'door', person: 'P1', at: '2026-10-04T08:30:00+08:00' },
      { terminal: 'door', person: 'P2', at: '2026-10-04T00:31:00Z' },
      { terminal: 'door', person: 'P2', at: '2026-10-04T08:31:00+08:00' },
    ]);
    expect(JSON.parse(many.body)).toMatchObject({ stored: 1, duplicates: 2 });
    const row = s.ctx.store.db.prepare("SELECT * FROM checkins WHERE person='P1'").get() as { similarity: number; verify_mode: string; tz_offset_min: number; at_ms: number };
    expect(row).toMatchObject({ similarity: 93.5, verify_mode: 'face', tz_offset_min: 480, at_ms: Date.parse('2026-10-04T00:30:00Z') });
    expect(n(s, 'SELECT COUNT(*) FROM checkins')).toBe(2);
    expect(n(s, "SELECT COUNT(*) FROM outbox WHERE type='checkin'")).toBe(2);
  });

  it('auth on every request: no token, wrong token, bad signature → 401, nothing stored', async () => {
    const s = await setup();
    const body = JSON.stringify({ terminal: 'd', person: 'P', at: '2026-10-04T08:30:00+08:00' });
    for (const headers of [{}, { authorization: 'Bearer nope' }, { 'x-signature': 'sha256=' + '0'.repeat(64) }, { authorization: 'Basic ' + Buffer.from('u:nope').toString('base64') }] as Record<
      string,
      string
    >[]) {
      const r = await request(`${s.base}/api/v1/checkins`, { body, headers: { 'content-type': 'application/json', ...headers } });
      expect(r.status).toBe(401);
    }
    expect(n(s, 'SELECT COUNT(*) FROM checkins')).toBe(0);
    expect((await request(`${s.base}/api/v1/checkins`, { headers: { authorization: 'Bearer tok-123' } })).status).toBe(405);
    expect((await request(`${s.base}/nothing`)).status).toBe(404);
  });

  it('malformed input: 400 not JSON, 422 no usable item with paths, partial 200; raw always kept', async () => {
    const s = await setup();
    const c = new WebhookClient(s.base, { token: 'tok-123' });
    cleanups.push(() => c.close());
    const bad = await c.send('{"terminal": "d", ', { chunks: 3 });
    expect(bad.status).toBe(400);
    const none = await c.send([{ terminal: 'd', person: 'P', at: '2026-10-04 08:30' }]);
    expect(none.status).toBe(422);
    expect(JSON.parse(none.body).issues).toEqual([{ where: '[0].at', message: 'not an ISO 8601 timestamp with zone' }]);
    const part = await c.send({
      checkins: [
        { terminal: 'd', person: 'P', at: '2026-10-04T08:30:00+08:00' },
        { terminal: '', person: 'Q', at: 'x' },
      ],
    } as never);
    expect(part.status).toBe(200);
    expect(JSON.parse(part.body).rejected.map((r: { where: string }) => r.where)).toEqual(['checkins[1].terminal', 'checkins[1].at']);
    expect(n(s, 'SELECT COUNT(*) FROM raw_inputs')).toBe(3);
    expect(n(s, "SELECT COUNT(*) FROM raw_inputs WHERE status='unparsable'")).toBe(2);
    expect(n(s, "SELECT COUNT(*) FROM raw_inputs WHERE status='partial'")).toBe(1);
    expect(n(s, 'SELECT COUNT(*) FROM checkins')).toBe(1);
  });

  it('concurrent requests share commits (group commit) and each is answered after its own commit', async () => {
    const s = await setup();
    const c = new WebhookClient(s.base, { token: 'tok-123' });
    cleanups.push(() => c.close());
    const before = s.server.intake!.commits;
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => c.send({ id: `g${i}`, terminal: 'd', person: `P${i}`, at: '2026-10-04T08:30:00+08:00' })));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(n(s, 'SELECT COUNT(*) FROM checkins')).toBe(200);
    expect(s.server.intake!.commits - before).toBeLessThan(200);
  });

  it('a slow sender is cut off by the request timeout (408) and nothing half-read is stored', async () => {
    const s = await startCheckin({ checkin: { token: 'tok', requestTimeoutMs: 400 } });
    cleanups.push(() => s.stop());
    const got = await new Promise<string>((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1', () => {
        sock.write('POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: 100\r\n\r\n{"term');
      });
      let buf = '';
      sock.on('data', (d) => (buf += d.toString()));
      sock.on('close', () => resolve(buf));
      setTimeout(() => sock.destroy(), 5000);
    });
    expect(got).toMatch(/^HTTP\/1\.1 408/);
    expect(n(s, 'SELECT COUNT(*) FROM raw_inputs')).toBe(0);
  });
});
