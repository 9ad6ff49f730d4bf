import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CentralReceiver } from '../central/receiver.js';
import { CentralDb } from '../central/db.js';
import type { AgentContext } from '../core/context.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { Outbox } from '../store/outbox.js';
import { Store } from '../store/store.js';
import { SyncClient } from './client.js';
import { ensureBuilt, makeCerts, Mosquitto, type TlsFiles } from './mosquitto-kit.js';
import { TcpProxy } from '../sim/proxy.js';
import { agentContext, tempDir, waitFor } from './testkit.js';

/**
 * Integration against a real Mosquitto (Debian's), started by the test on a free port, with
 * real faults: broker stopped and restarted, agent and receiver killed with SIGKILL, TCP
 * connections cut and black-holed. CA_SYNC_RECORDS sets the size of the broker-down test
 * (default 100000, the figure; about 30 s here); CA_SYNC_KILLS the number of kill -9 (default 20).
 */
const RECORDS = Number(process.env.CA_SYNC_RECORDS ?? 100_000);
const KILLS = Number(process.env.CA_SYNC_KILLS ?? 20);
const PREFIX = 'classroom/v1';

// never skipped when mosquitto is absent: Mosquitto.start() fails naming the Debian package
const run = describe;

function produce(ctx: { store: Store }, n: number, chunk = 5000): void {
  const ob = new Outbox(ctx.store as Store);
  for (let done = 0; done < n; done += chunk) {
    ctx.store.tx(() => {
      for (let i = done; i < Math.min(n, done + chunk); i++) {
        ob.enqueue('segment', 1_760_000_000_000 + i * 1000, {
          id: i + 1,
          camera: 'cam-1',
          start: 1_760_000_000_000 + i * 1000,
          end: 1_760_000_001_000 + i * 1000,
          bytes: 1_000_000 + i,
          sha256: 'ab'.repeat(32),
          recovered: false,
        });
      }
    });
  }
}

function expectExactlyOnceInOrder(db: CentralDb, box: string, n: number): void {
  expect(db.count(box)).toBe(n);
  const rel = db.releasedSeqs(box);
  expect(rel.length).toBe(n);
  let ordered = true;
  for (let i = 0; i < n; i++) if (rel[i] !== i + 1) ordered = false;
  expect(ordered).toBe(true);
  const dupIds = db.db.prepare('SELECT COUNT(*) AS n FROM (SELECT record_id FROM records WHERE box = ? GROUP BY record_id HAVING COUNT(*) > 1)').get(box) as { n: number };
  expect(dupIds.n).toBe(0);
}

run('sync against mosquitto', () => {
  let cli = '';
  const kills: ChildProcess[] = [];
  beforeAll(() => {
    cli = ensureBuilt(PACKAGE_ROOT);
  }, 180_000);
  afterAll(() => {
    for (const p of kills) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it(`broker down while the agent produces ${RECORDS} records, then back: each exactly once, in order`, async () => {
    const dir = tempDir('mq-down');
    const broker = new Mosquitto({ dir });
    await broker.start();
    const ctx = agentContext(dir, { url: broker.url, reconnectMinMs: 100, reconnectMaxMs: 1000, ackTimeoutMs: 10_000, batchSize: 500, maxInFlight: 8 });
    const receiver = new CentralReceiver({ url: broker.url, prefix: PREFIX, db: path.join(dir, 'central.db'), group: 'central', mqtt: { reconnectPeriod: 200 } });
    await receiver.start();
    const client = new SyncClient(ctx);
    try {
      await client.start();
      await waitFor(() => client.isConnected, 5000, 'connected');
      await broker.stop();
      await waitFor(() => !client.isConnected, 5000, 'disconnected');
      produce(ctx, RECORDS);
      expect(new Outbox(ctx.store).backlog().count).toBe(RECORDS);
      await broker.start(); // same port
      const t0 = Date.now();
      await waitFor(() => new Outbox(ctx.store).backlog().count === 0, 300_000, 'drained', 250);
      const secs = (Date.now() - t0) / 1000;
      console.log(`broker-down test: ${RECORDS} records drained in ${secs.toFixed(1)} s (${Math.round(RECORDS / secs)} records/s end to end)`);
      expectExactlyOnceInOrder(receiver.database, 'box-1', RECORDS);
    } finally {
      await client.stop();
      await receiver.stop();
      ctx.store.close();
      await broker.stop();
    }
  }, 400_000);

  it(`${KILLS} kill -9 of the agent at random points of a drain: none lost, none duplicated`, async () => {
    const dir = tempDir('mq-kill');
    const broker = new Mosquitto({ dir });
    await broker.start();
    const cfgFile = path.join(dir, 'agent.yaml');
    // small batches, one in flight: each drain lasts seconds, so the kills land inside it
    fs.writeFileSync(
      cfgFile,
      YAML.stringify({ box: { id: 'box-k' }, paths: { state: dir }, sync: { url: broker.url, batchSize: 10, maxInFlight: 1, ackTimeoutMs: 3000, reconnectMinMs: 100, reconnectMaxMs: 500 } }),
    );
    const PER_RUN = 1000;
    const store = new Store({ file: path.join(dir, 'evidence.db') });
    const receiver = new CentralReceiver({ url: broker.url, prefix: PREFIX, db: path.join(dir, 'central.db'), group: 'central' });
    await receiver.start();
    const ob = new Outbox(store);
    const fastCfg = path.join(dir, 'agent-fast.yaml');
    fs.writeFileSync(fastCfg, YAML.stringify({ box: { id: 'box-k' }, paths: { state: dir }, sync: { url: broker.url, batchSize: 500, maxInFlight: 8 } }));
    const agent = (file = cfgFile) => {
      const p = spawn(process.execPath, [cli, '--config', file, 'sync', 'run'], { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, LOG_LEVEL: 'warn' } });
      kills.push(p);
      return p;
    };
    try {
      let killedMidDrain = 0;
      for (let k = 0; k < KILLS; k++) {
        produce({ store }, PER_RUN, PER_RUN);
        const before = ob.backlog().count;
        const p = agent();
        // once the drain is under way (first ack settled), kill at a random moment of it
        await waitFor(() => ob.backlog().count < before, 20_000, 'drain started', 10);
        await new Promise((r) => setTimeout(r, Math.random() * 1500));
        const mid = ob.backlog().count;
        p.kill('SIGKILL');
        await new Promise((r) => p.once('exit', r));
        if (mid > 0 && mid < before) killedMidDrain++;
      }
      const total = KILLS * PER_RUN;
      const last = agent(fastCfg); // the last run only finishes the job, with big batches
      await waitFor(() => ob.backlog().count === 0, 180_000, 'final drain', 250);
      last.kill('SIGTERM');
      await new Promise((r) => last.once('exit', r));
      console.log(
        `kill -9 test: ${KILLS} kills, ${killedMidDrain} of them mid-drain (some records acked, some not); ${total} records; receiver saw ${receiver.stats.duplicates} duplicates (dropped by dedup)`,
      );
      expect(killedMidDrain).toBeGreaterThanOrEqual(KILLS - 2);
      await waitFor(() => receiver.database.count('box-k') === total, 10_000, 'receiver count');
      expectExactlyOnceInOrder(receiver.database, 'box-k', total);
    } finally {
      await receiver.stop();
      store.close();
      await broker.stop();
    }
  }, 400_000);

  it('kill -9 of a receiver mid-drain (two receivers sharing the load): none lost, none doubled', async () => {
    const dir = tempDir('mq-rkill');
    const broker = new Mosquitto({ dir });
    await broker.start();
    const ctx = agentContext(dir, { url: broker.url, batchSize: 100, maxInFlight: 4, ackTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 500 }, 'box-r');
    const N = 20_000;
    produce(ctx, N);
    const cfgFile = path.join(dir, 'central.yaml');
    fs.writeFileSync(cfgFile, YAML.stringify({ paths: { state: dir }, sync: { url: broker.url } }));
    const receiverProc = (id: string) => {
      const p = spawn(process.execPath, [cli, '--config', cfgFile, 'central', '--db', path.join(dir, 'central.db'), '--client-id', id, '--reorder-timeout', '1000'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'warn' },
      });
      kills.push(p);
      return p;
    };
    const r1 = receiverProc('central-1');
    let r2 = receiverProc('central-2');
    await new Promise((r) => setTimeout(r, 1500));
    const client = new SyncClient(ctx);
    const ob = new Outbox(ctx.store);
    try {
      await client.start();
      for (let k = 0; k < 3; k++) {
        await waitFor(() => ob.backlog().count < N - (k + 1) * 3000, 60_000, 'progress');
        r2.kill('SIGKILL');
        await new Promise((r) => r2.once('exit', r));
        r2 = receiverProc('central-2');
      }
      await waitFor(() => ob.backlog().count === 0, 120_000, 'drained', 250);
      const db = new CentralDb(path.join(dir, 'central.db'));
      try {
        expectExactlyOnceInOrder(db, 'box-r', N);
      } finally {
        db.close();
      }
    } finally {
      await client.stop();
      for (const p of [r1, r2]) p.kill('SIGTERM');
      ctx.store.close();
      await broker.stop();
    }
  }, 300_000);

  it('connection cut and black-holed (half-open link): the agent recovers and delivers everything', async () => {
    const dir = tempDir('mq-drop');
    const broker = new Mosquitto({ dir });
    await broker.start();
    const proxy = new TcpProxy({ host: '127.0.0.1', port: broker.port });
    await proxy.start();
    const ctx: AgentContext = agentContext(dir, { url: `mqtt://127.0.0.1:${proxy.port}`, batchSize: 100, maxInFlight: 2, ackTimeoutMs: 1500, reconnectMinMs: 100, reconnectMaxMs: 500 }, 'box-d');
    const receiver = new CentralReceiver({ url: broker.url, prefix: PREFIX, db: path.join(dir, 'central.db'), group: 'central' });
    await receiver.start();
    const client = new SyncClient(ctx);
    const ob = new Outbox(ctx.store);
    try {
      produce(ctx, 5000);
      await client.start();
      await waitFor(() => ob.backlog().count < 4500, 20_000, 'started');
      proxy.cut();
      await waitFor(() => ob.backlog().count < 3000, 20_000, 'after cut');
      proxy.setMode('stall');
      produce(ctx, 1000);
      await new Promise((r) => setTimeout(r, 2500)); // acks cannot come back; batches time out
      const held = ob.backlog().count;
      expect(held).toBeGreaterThan(0);
      proxy.setMode('pass');
      proxy.cut(); // what keepalive would do after 1.5 × 30 s on a real half-open link
      await waitFor(() => ob.backlog().count === 0, 60_000, 'drained');
      expectExactlyOnceInOrder(receiver.database, 'box-d', 6000);
    } finally {
      await client.stop();
      await receiver.stop();
      await proxy.stop();
      ctx.store.close();
      await broker.stop();
    }
  }, 120_000);

  it('CLI: sync status reads the state the running agent keeps in the database; sync resend reaches it', async () => {
    const dir = tempDir('mq-cli');
    const broker = new Mosquitto({ dir });
    await broker.start();
    const cfgFile = path.join(dir, 'agent.yaml');
    fs.writeFileSync(cfgFile, YAML.stringify({ box: { id: 'box-c' }, paths: { state: dir }, sync: { url: broker.url } }));
    const ctx = agentContext(dir, { url: broker.url }, 'box-c');
    produce(ctx, 40);
    const receiver = new CentralReceiver({ url: broker.url, prefix: PREFIX, db: path.join(dir, 'central.db'), group: 'central' });
    await receiver.start();
    const client = new SyncClient(ctx);
    const cliRun = (...args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, [cli, '--config', cfgFile, ...args], { env: { ...process.env, LOG_LEVEL: 'warn' } });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += String(d)));
        p.stderr.on('data', (d) => (err += String(d)));
        p.on('exit', (code) => resolve({ code, out, err }));
      });
    try {
      await client.start();
      await waitFor(() => new Outbox(ctx.store).backlog().count === 0, 20_000, 'drained');
      await new Promise((r) => setTimeout(r, 2500)); // one state write period
      const st = await cliRun('sync', 'status', '--json');
      expect(st.code).toBe(0);
      const j = JSON.parse(st.out);
      expect(j).toMatchObject({ box: 'box-c', daemonRunning: true, connected: true, backlog: 0, maxSeq: 40 });
      expect(j.lastAckMs).toBeGreaterThan(0);
      const zh = await cliRun('--lang', 'zh', 'sync', 'status');
      expect(zh.out).toContain('积压');
      const en = await cliRun('--lang', 'en', 'sync', 'status');
      expect(en.out).toContain('Backlog (unacknowledged records): 0');
      const bad = await cliRun('--lang', 'en', 'sync', 'resend', '--from', 'x');
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('--from');
      const dups = receiver.stats.duplicates;
      const rs = await cliRun('--lang', 'en', 'sync', 'resend', '--from', '31');
      expect(rs.code).toBe(0);
      await waitFor(() => receiver.stats.duplicates - dups === 10, 10_000, 'resend from the CLI');
      expect(receiver.database.count('box-c')).toBe(40);
    } finally {
      await client.stop();
      await receiver.stop();
      ctx.store.close();
      await broker.stop();
    }
  });

  describe('TLS with client certificates', () => {
    let tls: TlsFiles;
    let other: TlsFiles;
    let dir: string;
    let broker: Mosquitto;
    beforeAll(async () => {
      dir = tempDir('mq-tls');
      tls = makeCerts(path.join(dir, 'pki'), ['box-t', 'central']);
      other = makeCerts(path.join(dir, 'pki-other'), ['box-t'], 'evil');
      broker = new Mosquitto({
        dir,
        tls,
        acl: [`pattern readwrite ${PREFIX}/%u/#`, 'user central', `topic readwrite ${PREFIX}/#`],
      });
      await broker.start();
    });
    afterAll(async () => {
      await broker?.stop();
    });

    it('a box with its own certificate (CN = box id) delivers; the broker certificate is verified', async () => {
      const ctx = agentContext(
        dir,
        { url: broker.url, tls: { ca: tls.ca, cert: tls.clients['box-t']!.cert, key: tls.clients['box-t']!.key, rejectUnauthorized: true }, reconnectMinMs: 100, reconnectMaxMs: 500 },
        'box-t',
      );
      const centralCert = tls.clients.central!;
      const receiver = new CentralReceiver({
        url: broker.url,
        prefix: PREFIX,
        db: path.join(dir, 'central.db'),
        group: 'central',
        mqtt: { ca: fs.readFileSync(tls.ca), cert: fs.readFileSync(centralCert.cert), key: fs.readFileSync(centralCert.key), rejectUnauthorized: true },
      });
      await receiver.start();
      const client = new SyncClient(ctx);
      try {
        produce(ctx, 500);
        await client.start();
        await waitFor(() => new Outbox(ctx.store).backlog().count === 0, 20_000, 'drained over TLS');
        expectExactlyOnceInOrder(receiver.database, 'box-t', 500);
      } finally {
        await client.stop();
        await receiver.stop();
        ctx.store.close();
      }
    });

    it('refuses a broker whose certificate is not from the configured CA, and a box cert from another CA', async () => {
      const d2 = tempDir('mq-tls-bad');
      // the box trusts another CA: the real broker's certificate fails verification
      const a = agentContext(
        d2,
        { url: broker.url, tls: { ca: other.ca, cert: tls.clients['box-t']!.cert, key: tls.clients['box-t']!.key, rejectUnauthorized: true }, reconnectMinMs: 100, reconnectMaxMs: 200 },
        'box-t',
      );
      // the box's certificate comes from an unknown CA: the broker refuses it
      const d3 = tempDir('mq-tls-bad2');
      const b = agentContext(
        d3,
        { url: broker.url, tls: { ca: tls.ca, cert: other.clients['box-t']!.cert, key: other.clients['box-t']!.key, rejectUnauthorized: true }, reconnectMinMs: 100, reconnectMaxMs: 200 },
        'box-t',
      );
      produce(a, 10);
      produce(b, 10);
      const ca = new SyncClient(a);
      const cb = new SyncClient(b);
      try {
        await ca.start();
        await cb.start();
        await new Promise((r) => setTimeout(r, 2000));
        expect(ca.isConnected).toBe(false);
        expect(cb.isConnected).toBe(false);
        expect(new Outbox(a.store).backlog().count).toBe(10);
        expect(new Outbox(b.store).backlog().count).toBe(10);
      } finally {
        await ca.stop();
        await cb.stop();
        a.store.close();
        b.store.close();
      }
    });
  });
});
