import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { Store } from '../store/store.js';
import { ensureBuilt } from './testutil.js';
import { WebhookClient } from '../sim/terminals/webhook.js';
import { ZkDevice } from '../sim/terminals/zkteco.js';
import { HikDevice, type HikEvent } from '../sim/terminals/hikvision.js';

/**
 * kill -9 during a burst: the server runs in a child process (the compiled serve.js), is killed
 * with SIGKILL mid-burst, restarted on the same database, and every check-in it acknowledged
 * with 200 must be there exactly once. Then everything is resent: still exactly once.
 */
const SERVE = path.join(PACKAGE_ROOT, 'dist/agent/checkin/serve.js');
const cfg = {
  checkin: { token: 'kill-tok' },
  terminals: [
    { id: 'zk-1', protocol: 'zkteco', serial: 'KILL1' },
    { id: 'hik-k', protocol: 'hikvision' },
  ],
};
const children: ChildProcess[] = [];

function serve(db: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [SERVE, db, JSON.stringify({ ...cfg, checkin: { ...cfg.checkin, listen: { host: '127.0.0.1', port: 0 } } })], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve({ child, base: `http://127.0.0.1:${m[1]}` });
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
}

beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('kill -9 during a burst of check-ins', () => {
  it('every acknowledged check-in is in the store exactly once after restart', async () => {
    expect(fs.existsSync(SERVE)).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-kill-'));
    const db = path.join(dir, 'evidence.db');
    const { child, base } = await serve(db);
    const wh = new WebhookClient(base, { token: 'kill-tok' }, 'kill');
    const zk = new ZkDevice(base, 'KILL1', { batch: 20 });
    const ackedWh = new Set<string>();
    const sentWh: string[] = [];
    let stop = false;
    const senders = Array.from({ length: 6 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        sentWh.push(id);
        try {
          const r = await wh.send({ id, terminal: 'door', person: `P${w}`, at: new Date(Date.UTC(2026, 9, 4, 0, 0, 0) + i * 1000).toISOString() });
          if (r.status === 200) ackedWh.add(id);
        } catch {
          return; // connection refused/reset after the kill: not acknowledged
        }
      }
    });
    // a Hikvision terminal pushing JSON and multipart events
    const hik = new HikDevice();
    const ackedHik = new Set<number>();
    const hikEvents: HikEvent[] = [];
    const hikRun = (async () => {
      for (let i = 0; !stop; i++) {
        const e = hik.punch(String(7000 + i), Date.UTC(2026, 9, 4) + i * 1000);
        hikEvents.push(e);
        try {
          const r = await hik.push(`${base}/hikvision/hik-k?token=kill-tok`, e, { multipart: i % 2 === 1 });
          if (r.status === 200) ackedHik.add(e.serialNo);
        } catch {
          return;
        }
      }
    })();
    for (let i = 0; i < 5000; i++)
      zk.punch(String(100000 + i), `2026-10-04 ${String(8 + Math.floor(i / 3600)).padStart(2, '0')}:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`);
    const zkRun = (async () => {
      await zk.handshake();
      try {
        await zk.sync();
      } catch {
        /* killed mid-upload */
      }
    })();
    // let the burst run, then kill -9 while requests are in flight
    const t0 = Date.now();
    while (!(ackedWh.size >= 50 && zk.cursor >= 100 && ackedHik.size >= 10) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGKILL');
    stop = true;
    await Promise.all([...senders, zkRun, hikRun]);
    const ackedZk = zk.cursor; // the terminal advances its cursor only on "OK"
    expect(ackedWh.size).toBeGreaterThan(0);
    expect(ackedZk).toBeGreaterThan(0);
    expect(ackedHik.size).toBeGreaterThan(0);
    wh.close();
    zk.close();

    // restart on the same database
    const again = await serve(db);
    const store = new Store({ file: db });
    const countKey = store.db.prepare('SELECT COUNT(*) FROM checkins WHERE dedup_key = ?').pluck();
    for (const id of ackedWh) expect(countKey.get(`wh:kill:${id}`)).toBe(1);
    for (const p of zk.punches.filter((x) => x.stamp <= ackedZk)) expect(countKey.get(`zk:KILL1:${p.pin}:${p.time}`)).toBe(1);
    const countCounter = store.db.prepare("SELECT COUNT(*) FROM checkins WHERE terminal = 'hik-k' AND counter = ?").pluck();
    for (const sn of ackedHik) expect(countCounter.get(String(sn))).toBe(1);
    // each stored check-in has its outbox record (same transaction)
    const n = store.db.prepare('SELECT COUNT(*) FROM checkins').pluck().get() as number;
    expect(store.db.prepare("SELECT COUNT(*) FROM outbox WHERE type='checkin'").pluck().get()).toBe(n);

    // the terminals resend everything (acked or not): exactly once each, nothing lost
    const wh2 = new WebhookClient(again.base, { token: 'kill-tok' }, 'kill');
    for (let i = 0; i < sentWh.length; i += 100) {
      const batch = sentWh.slice(i, i + 100).map((id) => {
        const [w, k] = id.slice(1).split('-').map(Number);
        return { id, terminal: 'door', person: `P${w}`, at: new Date(Date.UTC(2026, 9, 4, 0, 0, 0) + k * 1000).toISOString() };
      });
      expect((await wh2.send(batch)).status).toBe(200);
    }
    const zk2 = new ZkDevice(again.base, 'KILL1', { batch: 500 });
    zk2.punches.push(...zk.punches);
    await zk2.handshake();
    await zk2.sync();
    for (const e of hikEvents) expect((await hik.push(`${again.base}/hikvision/hik-k?token=kill-tok`, e)).status).toBe(200);
    wh2.close();
    zk2.close();
    expect(store.db.prepare("SELECT COUNT(*) FROM checkins WHERE dedup_key LIKE 'hik:hik-k:%'").pluck().get()).toBe(hikEvents.length);
    expect(store.db.prepare("SELECT COUNT(*) FROM checkins WHERE dedup_key LIKE 'wh:kill:%'").pluck().get()).toBe(new Set(sentWh).size);
    expect(store.db.prepare("SELECT COUNT(*) FROM checkins WHERE dedup_key LIKE 'zk:KILL1:%'").pluck().get()).toBe(5000);
    console.log(`kill -9: ${ackedWh.size} webhook + ${ackedZk} ZKTeco + ${ackedHik.size} Hikvision check-ins acknowledged before the kill, all present once`);
    store.close();
    again.child.kill('SIGTERM');
  });
});
