import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import type { Bench } from './index.js';
import { PgCentralDb } from '../agent/central/pg.js';
import { PACKAGE_ROOT } from '../agent/core/paths.js';
import { TestPostgres } from '../agent/sim/postgres.js';
import { allCentralStates, topics, type AckMsg } from '../agent/sync/contract.js';
import { ensureBuilt, hasMosquitto, Mosquitto } from '../agent/sync/mosquitto-kit.js';
import { tempDir } from '../agent/sync/testkit.js';

/**
 * The province's side under load: PROVINCE_BOXES boxes (default 2000), each with its own MQTT
 * login, on one Mosquitto, each sending a school day of records (PROVINCE_RECORDS per box,
 * default 600: 2 cameras × 8 h of 1-minute segments ≈ 960 segment records is a long day; check-ins,
 * gaps and verdicts are fewer) through the v1.1 contract to three `classroom-agent central`
 * processes sharing one subscription into one PostgreSQL; one central is killed -9 midway.
 * Checks every record stored exactly once and released in order; prints records/s beside a
 * bare multi-row INSERT of the same rows into the same PostgreSQL, and the database's size per
 * box-day. The boxes are simulated in this process (the wire protocol, not the box's SQLite:
 * the central side is what is measured). Not part of the test run.
 */
const BOXES = Number(process.env.PROVINCE_BOXES ?? 2000);
const RECORDS = Number(process.env.PROVINCE_RECORDS ?? 600);
const PREFIX = 'classroom/v1';
// the box's own defaults (agent/config/schema.ts: sync.batchSize, maxInFlight, ackTimeoutMs)
const BATCH = 500;
const IN_FLIGHT = 4;
const ACK_TIMEOUT_MS = 30_000;
const DAY0 = Date.UTC(2026, 10, 30, 0, 0);

function record(box: number, i: number): { id: string; seq: number; type: string; at: number; data: unknown } {
  const at = DAY0 + i * 48_000;
  const seq = i + 1;
  if (i % 20 === 7)
    return {
      id: randomUUID(),
      seq,
      type: 'checkin',
      at,
      data: { id: i, terminal: 'door-1', protocol: 'zkteco', person: String(1000 + (i % 40)), trainee: `S${i % 40}`, classId: `HN-${box}`, at, tzOffsetMin: 480, verifyMode: 'face', similarity: null },
    };
  if (i % 50 === 13) return { id: randomUUID(), seq, type: 'alarm', at, data: { kind: 'camera-offline', subject: 'cam-2', message: 'camera not reachable', state: 'raised' } };
  return { id: randomUUID(), seq, type: 'segment', at, data: { id: i, camera: `cam-${(i % 2) + 1}`, start: at, end: at + 60_000, bytes: 30_000_000, sha256: 'ab'.repeat(32), recovered: false } };
}

/** One simulated box: logs in, says online, sends its day in batches, resends what is not acked in time. */
class SimBox {
  private client?: MqttClient;
  private settled = new Set<number>();
  private inFlight = new Map<string, { seqs: number[]; at: number }>();
  private next = 0;
  private records: ReturnType<typeof record>[];
  private t: ReturnType<typeof topics>;
  resends = 0;
  constructor(
    readonly id: string,
    private pass: string,
    url: string,
    n: number,
    private onSettled: (k: number) => void,
  ) {
    this.records = Array.from({ length: n }, (_, i) => record(Number(id.slice(4)), i));
    this.t = topics(PREFIX, id);
    this.url = url;
  }
  private url: string;

  get done(): boolean {
    return this.settled.size === this.records.length;
  }

  async connect(): Promise<void> {
    const c = await mqtt.connectAsync(this.url, {
      clientId: this.id,
      username: this.id,
      password: this.pass,
      clean: true,
      reconnectPeriod: 1000,
      keepalive: 60,
      will: { topic: this.t.status, payload: Buffer.from(JSON.stringify({ v: 1, box: this.id, state: 'offline', session: 1, at: Date.now(), contract: '1.1' })), qos: 1, retain: true },
    });
    this.client = c;
    c.on('message', (_t, p) => this.onAck(JSON.parse(p.toString()) as AckMsg));
    await c.subscribeAsync(this.t.ack, { qos: 1 });
    await c.publishAsync(this.t.status, JSON.stringify({ v: 1, box: this.id, state: 'online', session: 1, at: Date.now(), contract: '1.1', agentVersion: 'sim' }), { qos: 1, retain: true });
  }

  pump(): void {
    const now = Date.now();
    for (const [id, b] of this.inFlight) {
      if (now - b.at < ACK_TIMEOUT_MS) continue;
      this.inFlight.delete(id);
      const left = b.seqs.filter((s) => !this.settled.has(s));
      if (left.length) {
        this.resends++;
        this.send(left);
      }
    }
    while (this.inFlight.size < IN_FLIGHT && this.next < this.records.length) {
      const seqs = this.records.slice(this.next, this.next + BATCH).map((r) => r.seq);
      this.next += seqs.length;
      this.send(seqs);
    }
  }

  private send(seqs: number[]): void {
    const batch = randomUUID();
    this.inFlight.set(batch, { seqs, at: Date.now() });
    const records = seqs.map((s) => this.records[s - 1]!);
    this.client!.publish(this.t.events, JSON.stringify({ v: 1, box: this.id, batch, session: 1, sentAt: Date.now(), floor: 1, records }), { qos: 1 });
  }

  private onAck(a: AckMsg): void {
    let k = 0;
    for (const [from, to] of a.ranges) for (let s = from; s <= to; s++) if (!this.settled.has(s)) this.settled.add(s), k++;
    if (a.batch) this.inFlight.delete(a.batch);
    this.onSettled(k);
    this.pump();
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}

async function bareInsert(url: string, rows: number): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('CREATE TABLE bare (box TEXT, seq BIGINT, record_id TEXT, type TEXT, at_ms BIGINT, data TEXT, PRIMARY KEY (box, record_id), UNIQUE (box, seq))');
  const t0 = performance.now();
  for (let i = 0; i < rows; i += BATCH) {
    const recs = Array.from({ length: Math.min(BATCH, rows - i) }, (_, j) => record(1, i + j));
    await c.query('INSERT INTO bare SELECT $1, s, id, t, a, d FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS u(s, id, t, a, d) ON CONFLICT DO NOTHING', [
      `bx-${Math.floor(i / RECORDS)}`,
      recs.map((r) => r.seq + i),
      recs.map((r) => r.id),
      recs.map((r) => r.type),
      recs.map((r) => r.at),
      recs.map((r) => JSON.stringify(r.data)),
    ]);
  }
  const rate = rows / ((performance.now() - t0) / 1000);
  await c.query('DROP TABLE bare');
  await c.end();
  return rate;
}

export const provinceBench: Bench = {
  name: 'province',
  title: `the province: ${BOXES} boxes × ${RECORDS} records on one Mosquitto → 3 central instances (one killed) → PostgreSQL`,
  async run() {
    if (!hasMosquitto()) throw new Error('mosquitto not installed: scripts/install-deps.sh --with-test-tools');
    const missing = TestPostgres.missing();
    if (missing) throw new Error(missing);
    const dir = tempDir('province');
    const cli = ensureBuilt(PACKAGE_ROOT);
    const pgs = await new TestPostgres().start();
    const procs: ChildProcess[] = [];
    const boxes: SimBox[] = [];
    let broker: Mosquitto | undefined;
    try {
      // a login per box, hashed by mosquitto_passwd; the ACL confines each box to its subtree
      const pwFile = path.join(dir, 'passwd');
      const pass = (i: number) => `pw-${i}-${(i * 7919) % 10007}`;
      fs.writeFileSync(pwFile, `${['central:central-pw', ...Array.from({ length: BOXES }, (_, i) => `box-${i}:${pass(i)}`)].join('\n')}\n`);
      const h = spawnSync('mosquitto_passwd', ['-U', pwFile], { encoding: 'utf8' });
      if (h.status !== 0) throw new Error(`mosquitto_passwd failed: ${h.stderr}`);
      broker = new Mosquitto({
        dir,
        acl: [`pattern readwrite ${PREFIX}/%u/#`, `pattern read ${PREFIX}/_central/+/state`, 'user central', `topic readwrite ${PREFIX}/#`, `topic readwrite $share/#`],
        extra: ['allow_anonymous false', `password_file ${pwFile}`, 'max_connections -1', 'max_queued_messages 10000'],
      });
      await broker.start();
      const cfg = path.join(dir, 'central.yaml');
      // plaintext on loopback only: the broker is this process's child on 127.0.0.1
      fs.writeFileSync(
        cfg,
        `box: { id: central }\npaths: { state: ${dir} }\nsync: { url: "${broker.url}", topicPrefix: ${PREFIX}, username: central, password: central-pw, allowPlaintextPassword: true }\n`,
      );
      const central = (id: string) => {
        const p = spawn(process.execPath, [cli, '--config', cfg, 'central', '--db', pgs.url(), '--client-id', id, '--reorder-timeout', '5000'], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, LOG_LEVEL: 'error' },
        });
        let err = '';
        p.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
        p.once('exit', (code) => code && code !== 0 && !p.killed && console.log(`  central ${id} exited ${code}: ${err.slice(-500)}`));
        procs.push(p);
        return p;
      };
      const centrals = ['c-1', 'c-2', 'c-3'].map(central);
      // every instance announces itself on its retained state topic once it is subscribed (v1.1)
      const watch = await mqtt.connectAsync(broker.url, { username: 'central', password: 'central-pw' });
      const online = new Set<string>();
      watch.on('message', (_t, p) => {
        const m = JSON.parse(p.toString()) as { host: string; online: boolean };
        if (m.online) online.add(m.host);
      });
      await watch.subscribeAsync(allCentralStates(PREFIX), { qos: 1 });
      for (let i = 0; i < 1200 && online.size < 3 && centrals.every((p) => p.exitCode === null); i++) await new Promise((r) => setTimeout(r, 100));
      await watch.endAsync();
      if (online.size < 3) throw new Error(`only ${online.size} of 3 central instances came online in 120 s`);
      const probe = new PgCentralDb(pgs.url());
      const total = BOXES * RECORDS;
      let settled = 0;
      for (let i = 0; i < BOXES; i++) boxes.push(new SimBox(`box-${i}`, pass(i), broker.url, RECORDS, (k) => (settled += k)));
      const tc = performance.now();
      for (let i = 0; i < BOXES; i += 100) await Promise.all(boxes.slice(i, i + 100).map((b) => b.connect()));
      console.log(`  ${BOXES} boxes connected, each with its own login, in ${((performance.now() - tc) / 1000).toFixed(1)} s`);
      const t0 = performance.now();
      const ticker = setInterval(() => boxes.forEach((b) => b.pump()), 1000);
      boxes.forEach((b) => b.pump());
      let killed = false;
      let last = 0;
      while (settled < total) {
        await new Promise((r) => setTimeout(r, 500));
        if (!killed && settled >= total * 0.4) {
          centrals[1]!.kill('SIGKILL');
          killed = true;
          console.log(`  central c-2 killed -9 at ${settled} of ${total} records settled`);
        }
        if (performance.now() - last > 15_000) {
          last = performance.now();
          console.log(`  … ${settled} / ${total} settled (${Math.round(settled / ((performance.now() - t0) / 1000))} records/s)`);
        }
        if (performance.now() - t0 > 45 * 60_000) throw new Error(`not drained after 45 min: ${settled} of ${total}`);
      }
      clearInterval(ticker);
      const secs = (performance.now() - t0) / 1000;
      // exactly once and in order, from the database itself
      const c = new pg.Client({ connectionString: pgs.url() });
      await c.connect();
      const per = (
        await c.query<{ box: string; n: number; max: number; released: number }>(
          'SELECT r.box, COUNT(*)::int AS n, MAX(r.seq)::int AS max, (SELECT COUNT(*)::int FROM released x WHERE x.box = r.box) AS released FROM records r GROUP BY r.box',
        )
      ).rows;
      const wrong = per.filter((r) => r.n !== RECORDS || r.max !== RECORDS || r.released !== RECORDS);
      const size = (await c.query<{ s: number }>("SELECT pg_database_size('central')::bigint AS s")).rows[0]!.s;
      await c.end();
      await probe.close();
      const resends = boxes.reduce((a, b) => a + b.resends, 0);
      console.log(`  ${total} records from ${per.length} boxes in ${secs.toFixed(1)} s: ${Math.round(total / secs)} records/s durable (commit before ack), ${resends} batch resends`);
      console.log(`  exactly once: ${wrong.length === 0 && per.length === BOXES ? 'yes' : `NO (${wrong.length} boxes wrong, ${per.length} of ${BOXES} seen)`}`);
      console.log(`  database size: ${(size / 2 ** 20).toFixed(0)} MiB, ${(size / BOXES / 2 ** 10).toFixed(0)} KiB per box-day (${RECORDS} records)`);
      const bare = await bareInsert(pgs.url(), Math.min(total, 200_000));
      console.log(`  baseline: bare multi-row INSERT of the same rows, one client: ${Math.round(bare)} rows/s`);
      if (wrong.length || per.length !== BOXES) process.exitCode = 1;
    } finally {
      for (const p of procs) p.kill('SIGKILL');
      await Promise.all(boxes.map((b) => b.close().catch(() => undefined)));
      await broker?.stop();
      await pgs.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
