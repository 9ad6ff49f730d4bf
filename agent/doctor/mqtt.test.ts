import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { Outbox } from '../store/outbox.js';
import { Store } from '../store/store.js';
import { SyncMeta } from '../store/syncmeta.js';
import { classifyBrokerError, probeBroker } from '../sync/probe.js';
import { freePort, startAedes, tempDir } from '../sync/testkit.js';
import { mqttCheck } from './mqtt.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function envFor(dir: string, sync: Record<string, unknown>, now = Date.now()) {
  const cfg = configSchema.parse({ box: { id: 'box-7' }, paths: { state: dir }, sync, vision: { enabled: false } });
  return { cfg, paths: { state: dir, video: path.join(dir, 'video'), database: path.join(dir, 'evidence.db') }, now };
}

/** An aedes broker (agent/sim/broker.ts via agent/sync/testkit.ts) with auth or TLS. */
async function broker(opts: Parameters<typeof startAedes>[1]) {
  const b = await startAedes(0, opts);
  cleanups.push(() => b.close());
  return b.port;
}

describe('doctor: MQTT', () => {
  it('broker up: connect and a round trip on the box reply topic; backlog, oldest unacked and last ack from the store; old backlog warns', async () => {
    const a = await startAedes();
    cleanups.push(() => a.close());
    const dir = tempDir('doctor-mqtt');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const env = envFor(dir, { url: a.url });

    // no store yet: broker still probed
    let r = await mqttCheck.run(env);
    expect(r.status).toBe('ok');
    expect(r.detail).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+: connected in \d+ ms, round trip on own reply topic \d+ ms; no store yet$/);

    const s = new Store({ file: env.paths.database });
    const t0 = s.now();
    s.tx(() => {
      const o = new Outbox(s);
      o.enqueue('alarm', t0, { kind: 'x' });
      o.enqueue('alarm', t0, { kind: 'y' });
    });
    new SyncMeta(s).set('state', { lastAckMs: t0 - 5 * 60_000 });
    s.close();
    r = await mqttCheck.run({ ...env, now: t0 + 10 * 60_000 });
    expect(r.status).toBe('ok');
    expect(r.detail).toMatch(/backlog 2, oldest unacked 10 min, last ack 15 min ago$/);
    r = await mqttCheck.run({ ...env, now: t0 + 3 * 3600_000 });
    expect(r.status).toBe('warn');
    expect(r.detail).toMatch(/backlog 2, oldest unacked 3\.0 h/);
    expect(r.fix!.en).toContain('sync status');
    expect(r.fix!.zh.length).toBeGreaterThan(10);
  }, 30_000);

  it('broker down: fail, said as connection refused, with the backlog still reported', async () => {
    const port = await freePort();
    const dir = tempDir('doctor-mqtt');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const r = await mqttCheck.run(envFor(dir, { url: `mqtt://127.0.0.1:${port}` }));
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/: refused: .*ECONNREFUSED.*; no store yet/);
    expect(r.fix!.en).toMatch(/refused the connection: check the port in sync\.url/);
  });

  it('a broker that goes away between two runs: ok, then refused', async () => {
    const a = await startAedes();
    const dir = tempDir('doctor-mqtt');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const env = envFor(dir, { url: a.url });
    expect((await mqttCheck.run(env)).status).toBe('ok');
    await a.close();
    const r = await mqttCheck.run(env);
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('refused');
  });

  it('wrong password: fail, said as auth', async () => {
    const port = await broker({ authenticate: (u, p) => u === 'box-7' && p?.toString() === 'right' });
    const good = await probeBroker(envFor(tempDir('doctor-mqtt'), { url: `mqtt://127.0.0.1:${port}`, username: 'box-7', password: 'right' }).cfg);
    expect(good).toMatchObject({ ok: true });
    const dir = tempDir('doctor-mqtt');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const r = await mqttCheck.run(envFor(dir, { url: `mqtt://127.0.0.1:${port}`, username: 'box-7', password: 'wrong' }));
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/: auth: /);
    expect(r.detail).not.toContain('wrong');
    expect(r.fix!.en).toContain('sync.username / sync.password');
  });

  it('TLS: an unknown CA is a TLS verification failure; with the right CA it passes', async () => {
    const dir = tempDir('doctor-mqtt');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], {
      stdio: 'ignore',
    });
    const port = await broker({ tls: { key: fs.readFileSync(key), cert: fs.readFileSync(cert) } });
    const r = await mqttCheck.run(envFor(dir, { url: `mqtts://127.0.0.1:${port}` }));
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/: tls: /);
    expect(r.fix!.en).toContain('sync.tls.ca');
    const ok = await mqttCheck.run(envFor(dir, { url: `mqtts://127.0.0.1:${port}`, tls: { ca: cert } }));
    expect(ok.status, ok.detail).toBe('ok');
    // verification turned off connects, but doctor says what that costs
    const blind = await mqttCheck.run(envFor(dir, { url: `mqtts://127.0.0.1:${port}`, tls: { rejectUnauthorized: false } }));
    expect(blind.status, blind.detail).toBe('warn');
    expect(blind.detail).toContain('rejectUnauthorized is false');
    expect(blind.fix!.en).toContain('sync.tls.ca');
  }, 30_000);

  it('names DNS failures (classification of the resolver error)', () => {
    expect(classifyBrokerError(Object.assign(new Error('getaddrinfo ENOTFOUND mqtt.example.invalid'), { code: 'ENOTFOUND' }))).toBe('dns');
    expect(classifyBrokerError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('refused');
    expect(classifyBrokerError(Object.assign(new Error('Connection refused: Not authorized'), { code: 5 }))).toBe('auth');
  });
});
