import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeContext } from '../recorder/testkit.js';
import { ConsoleRepo } from '../store/console.js';
import { EvidenceRepo } from '../store/evidence.js';
import { ClassRepo } from '../store/classes.js';
import { hashPassword, LoginLimiter, passwordProblem, Sessions, verifyPassword } from './auth.js';
import { ConsoleServer } from './server.js';

const PW = 'right-pass-1';

async function start(extra: Record<string, unknown> = {}, users = true) {
  const ctx = makeContext({ console: { listen: { host: '127.0.0.1', port: 0 }, loginMaxFailures: 3, ...extra }, vision: { enabled: false }, sync: { enabled: false } });
  if (users) {
    const repo = new ConsoleRepo(ctx.store);
    repo.addUser('tech', 'technician', await hashPassword(PW));
    repo.addUser('school', 'school', await hashPassword(PW));
  }
  const con = new ConsoleServer(ctx);
  await con.start();
  return { ctx, con, base: `http://127.0.0.1:${con.port}` };
}

async function login(base: string, user: string, password = PW) {
  const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
  return { r, cookie: (r.headers.get('set-cookie') ?? '').split(';')[0] };
}

describe('console auth pieces', () => {
  it('hashes with scrypt, salted: same password, different hashes; wrong password fails', async () => {
    const a = await hashPassword('abc-12345');
    const b = await hashPassword('abc-12345');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('abc-12345', a)).toBe(true);
    expect(await verifyPassword('abc-12346', a)).toBe(false);
    expect(await verifyPassword('abc-12345', 'garbage')).toBe(false);
    expect(passwordProblem('short1')).toBeDefined();
    expect(passwordProblem('12345678')).toBeDefined();
    expect(passwordProblem('长城-2025-好')).toBeUndefined();
  });

  it('sessions end after idle time and after the maximum age', () => {
    let now = 0;
    const s = new Sessions(1000, 5000, () => now);
    const a = s.create('u', 'school');
    now = 900;
    expect(s.get(a.id)).toBeDefined();
    now = 1850;
    expect(s.get(a.id)).toBeDefined();
    now = 3000;
    expect(s.get(a.id)).toBeUndefined();
    const b = s.create('u', 'school');
    for (now = 3000; now < 8000; now += 900) s.get(b.id);
    expect(s.get(b.id)).toBeUndefined();
  });

  it('limits failed logins per key within the window', () => {
    let now = 0;
    const l = new LoginLimiter(2, 1000, () => now);
    l.fail('k');
    expect(l.retryAfter('k')).toBe(0);
    l.fail('k');
    expect(l.retryAfter('k')).toBe(1000);
    now = 1001;
    expect(l.retryAfter('k')).toBe(0);
  });
});

describe('console server', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it('does not listen until a first user exists', async () => {
    const { ctx, con } = await start({}, false);
    stop = async () => (await con.stop(), ctx.cleanup());
    expect(con.listening).toBe(false);
  });

  it('sets a strict HttpOnly cookie, answers 401 without it, records logins and views as access entries', async () => {
    const { ctx, con, base } = await start();
    stop = async () => (await con.stop(), ctx.cleanup());
    expect((await fetch(`${base}/api/today`)).status).toBe(401);
    const { r, cookie } = await login(base, 'tech');
    expect(r.status).toBe(200);
    const sc = r.headers.get('set-cookie')!;
    expect(sc).toMatch(/HttpOnly/);
    expect(sc).toMatch(/SameSite=Strict/);
    const t = await fetch(`${base}/api/today`, { headers: { cookie } });
    expect(t.status).toBe(200);
    expect(t.headers.get('content-security-policy')).toContain("default-src 'self'");
    const acc = new ConsoleRepo(ctx.store).access();
    expect(acc.map((a) => `${a.user} ${a.action} ${a.outcome}`)).toEqual(expect.arrayContaining(['tech login ok', 'tech view:today ok']));
  });

  it('rate-limits failed logins by user name, with the same answer for unknown names', async () => {
    const { ctx, con, base } = await start();
    stop = async () => (await con.stop(), ctx.cleanup());
    for (let i = 0; i < 3; i++) expect((await login(base, 'tech', 'wrong-pass-1')).r.status).toBe(401);
    const locked = await login(base, 'tech');
    expect(locked.r.status).toBe(429);
    expect(Number(locked.r.headers.get('retry-after'))).toBeGreaterThan(0);
    // the address is locked too: another name from the same address waits as well
    expect((await login(base, 'school')).r.status).toBe(429);
    expect(new ConsoleRepo(ctx.store).access().filter((a) => a.action === 'login' && a.outcome === 'failed')).toHaveLength(3);
  });

  it('has no route that changes anything: other methods are refused', async () => {
    const { ctx, con, base } = await start();
    stop = async () => (await con.stop(), ctx.cleanup());
    const { cookie } = await login(base, 'tech');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) expect((await fetch(`${base}/api/segment/1`, { method, headers: { cookie } })).status).toBe(405);
  });

  it('ends the sessions of a user whose password changed or who was removed', async () => {
    const { ctx, con, base } = await start();
    stop = async () => (await con.stop(), ctx.cleanup());
    const { cookie } = await login(base, 'school');
    expect((await fetch(`${base}/api/me`, { headers: { cookie } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 5));
    new ConsoleRepo(ctx.store).setPassword('school', await hashPassword('new-pass-22'));
    expect((await fetch(`${base}/api/me`, { headers: { cookie } })).status).toBe(401);
    const again = await login(base, 'school', 'new-pass-22');
    new ConsoleRepo(ctx.store).removeUser('school');
    expect((await fetch(`${base}/api/me`, { headers: { cookie: again.cookie } })).status).toBe(401);
  });

  it('serves only segment files under the video folder, with byte ranges', async () => {
    const { ctx, con, base } = await start();
    stop = async () => (await con.stop(), ctx.cleanup());
    const inside = path.join(ctx.paths.video, 'cam-1', 'x.mp4');
    fs.mkdirSync(path.dirname(inside), { recursive: true });
    fs.writeFileSync(inside, Buffer.alloc(1000, 7));
    const ev = new EvidenceRepo(ctx.store);
    const ok = ev.addRecording({ camera: 'cam-1', path: inside, start: 1, end: 2, bytes: 1000, sha256: '0'.repeat(64) });
    const outside = ev.addRecording({ camera: 'cam-1', path: '/etc/passwd', start: 3, end: 4, bytes: 1, sha256: '0'.repeat(64) });
    const { cookie } = await login(base, 'school');
    const r = await fetch(`${base}/api/segment/${ok}`, { headers: { cookie, range: 'bytes=10-19' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect((await r.arrayBuffer()).byteLength).toBe(10);
    expect((await fetch(`${base}/api/segment/${ok}`, { headers: { cookie, range: 'bytes=2000-' } })).status).toBe(416);
    expect((await fetch(`${base}/api/segment/${outside}`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${base}/api/class/..%2f..%2fetc`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${base}/api/recordings?camera=cam-1&from=abc&to=1`, { headers: { cookie } })).status).toBe(400);
  });

  it('refuses a live WebSocket without a session or from another origin', async () => {
    const { ctx, con, base } = await start();
    stop = async () => (await con.stop(), ctx.cleanup());
    fs.mkdirSync(path.join(ctx.paths.video, 'cam-1'), { recursive: true });
    const ws = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const s = new WebSocket(`${base.replace('http', 'ws')}/api/live/cam-1`, { headers });
        s.on('open', () => (s.close(), resolve(101)));
        s.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        s.on('error', () => resolve(-1));
      });
    expect(await ws({})).toBe(401);
    const { cookie } = await login(base, 'tech');
    expect(await ws({ cookie, origin: 'http://evil.example' })).toBe(403);
    expect(await ws({ cookie, origin: base })).toBe(101);
  });

  it('speaks HTTPS with the box certificate, and the cookie is Secure', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-tls-'));
    const cert = path.join(dir, 'box.crt');
    const key = path.join(dir, 'box.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=box', '-addext', 'subjectAltName=IP:127.0.0.1'], {
      stdio: 'ignore',
    });
    const { ctx, con } = await start({ tls: { cert, key } });
    stop = async () => (await con.stop(), ctx.cleanup(), fs.rmSync(dir, { recursive: true, force: true }));
    const ca = fs.readFileSync(cert);
    const res = await new Promise<{ status: number; cookie: string; hsts: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: con.port, path: '/api/login', method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (r) => {
        r.resume();
        resolve({ status: r.statusCode ?? 0, cookie: String(r.headers['set-cookie'] ?? ''), hsts: String(r.headers['strict-transport-security'] ?? '') });
      });
      req.on('error', reject);
      req.end(JSON.stringify({ user: 'tech', password: PW }));
    });
    expect(res.status).toBe(200);
    expect(res.cookie).toMatch(/; Secure/);
    expect(res.hsts).toContain('max-age');
    // plain HTTP on the TLS port gets nowhere
    await expect(fetch(`http://127.0.0.1:${con.port}/api/me`)).rejects.toThrow();
  });

  it('refuses to start with a certificate it cannot read, naming console.tls', async () => {
    const ctx = makeContext({ console: { listen: { host: '127.0.0.1', port: 0 }, tls: { cert: '/nonexistent/box.crt', key: '/nonexistent/box.key' } } });
    new ConsoleRepo(ctx.store).addUser('tech', 'technician', await hashPassword(PW));
    const con = new ConsoleServer(ctx);
    stop = async () => (await con.stop(), ctx.cleanup());
    await expect(con.start()).rejects.toThrow(/console\.tls/);
  });

  it('downloads a class evidence bundle that evaluate reads, recorded as an export', async () => {
    const { ctx, con, base } = await start();
    stop = async () => (await con.stop(), ctx.cleanup());
    const t0 = Date.UTC(2026, 0, 5, 1);
    new ClassRepo(ctx.store).save(
      {
        id: 'C9',
        timezone: 'Asia/Shanghai',
        trainees: [{ id: 'T1', name: '张三', terminalIds: [] }],
        teachers: [{ id: 'K1', certified: true }],
        lessons: [{ id: 'L1', kind: 'theory', start: t0, end: t0 + 2_700_000, cameras: [], makeUp: false }],
      },
      'henan-2025',
    );
    const { cookie } = await login(base, 'school');
    const r = await fetch(`${base}/api/class/C9/bundle`, { headers: { cookie } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="evidence-C9.json"');
    const { parseBundle } = await import('../compliance/bundle.js');
    expect(parseBundle(await r.json()).class.id).toBe('C9');
    expect((await fetch(`${base}/api/class/NOPE/bundle`, { headers: { cookie } })).status).toBe(404);
    const acc = new ConsoleRepo(ctx.store).access().filter((a) => a.action === 'export:bundle');
    expect(acc.map((a) => `${a.user} ${a.subject} ${a.outcome}`)).toEqual(['school NOPE failed', 'school C9 ok']);
  });
});
