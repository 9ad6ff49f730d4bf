import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { CentralReceiver } from '../central/receiver.js';
import type { StoredRecord } from '../central/db.js';
import type { Verdict } from '../compliance/evidence.js';
import { EvidenceRepo } from '../store/evidence.js';
import { Outbox } from '../store/outbox.js';
import { SyncMeta } from '../store/syncmeta.js';
import { SyncClient, type SyncState } from './client.js';
import { allCentralStates, parseTopic, topics, type StatusMsg } from './contract.js';
import { MAX_RECORD_BYTES, RECORD_TYPES, splitText } from './records.js';
import { checkRecordData, parseMessage, SCHEMAS_DIR, validators } from './schemas.js';
import { agentContext, freePort, startAedes, tempDir, waitFor } from './testkit.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function rig(opts: { receiver?: boolean; port?: number } = {}) {
  const dir = tempDir('contract');
  const broker = await startAedes(opts.port ?? 0);
  cleanups.push(() => broker.close());
  const ctx = agentContext(dir, { url: broker.url, ackTimeoutMs: 1500, reconnectMinMs: 50, reconnectMaxMs: 300 });
  cleanups.push(() => ctx.store.close());
  const got: StoredRecord[] = [];
  const receiver = new CentralReceiver({
    url: broker.url,
    prefix: ctx.cfg.sync.topicPrefix,
    db: path.join(dir, 'central.db'),
    group: '',
    host: 'prov-1',
    reorderTimeoutMs: 300,
    onRecord: (r) => got.push(r),
  });
  if (opts.receiver !== false) {
    await receiver.start();
    cleanups.push(() => receiver.stop());
  }
  const client = new SyncClient(ctx);
  cleanups.push(() => client.stop());
  return { dir, broker, ctx, client, receiver, got, outbox: new Outbox(ctx.store) };
}

const state = (ctx: ReturnType<typeof agentContext>) => new SyncMeta(ctx.store).get<SyncState>('state')!.value;

describe('contract v1.1: schemas', () => {
  it('every record type the box can enqueue has a data schema, and every data schema a type', () => {
    const files = fs
      .readdirSync(path.join(SCHEMAS_DIR, 'data'))
      .filter((f) => f.endsWith('.schema.json'))
      .map((f) => f.replace('.schema.json', ''))
      .sort();
    expect(files).toEqual([...RECORD_TYPES].sort());
    for (const t of RECORD_TYPES) expect(validators().data.has(t), t).toBe(true);
  });

  it('the code enqueues no literal type outside the list (Outbox.enqueue takes RecordType; this catches casts)', () => {
    const found = new Set<string>();
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name)) for (const m of fs.readFileSync(p, 'utf8').matchAll(/\.enqueue\(\s*'([^']+)'/g)) found.add(m[1]!);
      }
    };
    walk(path.join(SCHEMAS_DIR, '..', '..', '..', 'agent'));
    expect(found.size).toBeGreaterThan(3);
    for (const t of found) expect(RECORD_TYPES as readonly string[], `enqueue('${t}') has no schema`).toContain(t);
  });

  it('times are integer UTC ms: verdict lessons go out as ms, and 1.0 boxes’ ISO strings are still accepted', async () => {
    const { ctx, outbox } = await rig({ receiver: false });
    const v: Verdict = {
      classId: 'C1',
      profile: 'henan-2025',
      eligible: true,
      violations: [],
      warnings: [],
      trainees: [],
      openingHeadcount: 0,
      checkedInNeverSeen: [],
      lessons: [
        {
          id: 'L1',
          kind: 'theory',
          makeUp: false,
          start: '2025-10-08T09:00:00+08:00',
          end: '2025-10-08T09:45:00+08:00',
          recordedSeconds: 2700,
          uncoveredSeconds: 0,
          longestContinuousSeconds: 2700,
          traineesOnCamera: [],
        },
      ],
    };
    const repo = new EvidenceRepo(ctx.store);
    repo.saveVerdict(v, 1_759_885_200_000, 'L1');
    repo.saveVerdict(v, 1_759_885_200_000);
    const rows = outbox.unacked(0, 10);
    const lesson = (rows[0]!.data as { lesson: { start: unknown; end: unknown } }).lesson;
    expect(lesson.start).toBe(Date.UTC(2025, 9, 8, 1, 0));
    expect(lesson.end).toBe(Date.UTC(2025, 9, 8, 1, 45));
    expect((rows[1]!.data as { lessons: Array<{ start: unknown }> }).lessons[0]!.start).toBe(Date.UTC(2025, 9, 8, 1, 0));
    for (const r of rows) expect(checkRecordData(r.type, r.data)).toEqual([]);
    // what a 1.0 box sent
    expect(checkRecordData('lesson-verdict', { classId: 'C1', violations: [], lesson: { id: 'L1', start: '2025-10-08T09:00:00+08:00', end: '2025-10-08T09:45:00+08:00' } })).toEqual([]);
    expect(checkRecordData('lesson-verdict', { classId: 'C1', violations: [], lesson: { id: 'L1', start: 'yesterday' } })[0]!.path).toBe('data.lesson.start');
  });

  it('1.0 messages still pass: a status without versions, a batch of a 1.0 box; an ack with a field from a later version passes the box', () => {
    const v = validators();
    expect(parseMessage(v.status, '{"v":1,"box":"old-box","state":"online","session":3,"at":1764230000000,"backlog":0,"agent":"classroom-agent"}').ok).toBe(true);
    const old = {
      v: 1,
      box: 'old-box',
      batch: 'b',
      session: 3,
      sentAt: 1,
      floor: 1,
      records: [{ id: 'r', seq: 1, type: 'segment', at: 1, data: { id: 1, camera: 'c', start: 1, end: 2, bytes: 3, sha256: 'a'.repeat(64), recovered: false } }],
    };
    expect(parseMessage(v.batch, JSON.stringify(old)).ok).toBe(true);
    expect(parseMessage(v.ack, '{"v":1,"box":"b","ranges":[[1,5]],"at":1,"priority":"low"}').ok).toBe(true);
    expect(parseMessage(v.ack, '{"v":1,"box":"b","ranges":[[0,5]],"at":1}').ok).toBe(false);
  });

  it('the province’s state topic cannot be taken by a box id', () => {
    expect(parseTopic('classroom/v1', 'classroom/v1/_central/events')).toBeUndefined();
    expect(parseTopic('classroom/v1', 'classroom/v1/box-1/events')).toEqual({ box: 'box-1', kind: 'events' });
    expect(allCentralStates('classroom/v1/')).toBe('classroom/v1/_central/+/state');
  });

  it('splits text into slices that fit once quoted, never inside a surrogate pair', () => {
    const text = JSON.stringify({ s: '课堂"\\'.repeat(5000) + '😀'.repeat(3000) });
    for (const max of [64, 1000, 4096]) {
      const parts = splitText(text, max);
      expect(parts.join('')).toBe(text);
      for (const p of parts) {
        expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(max);
        expect(/[\uD800-\uDBFF]$/.test(p)).toBe(false);
      }
    }
  });
});

describe('contract v1.1 over aedes', () => {
  it('status carries the contract and agent versions and the connection start; central keeps them and the receipt time', async () => {
    const { ctx, client, receiver } = await rig();
    const seen: StatusMsg[] = [];
    await client.start();
    await waitFor(() => receiver.database.box('box-1')?.status_state === 'online', 10_000, 'online');
    const b = receiver.database.box('box-1')!;
    expect(b.status_contract).toBe('1.1');
    expect(b.status_agent_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(b.status_received_ms).toBeGreaterThan(0);
    const probe = mqtt.connect(ctx.cfg.sync.url);
    cleanups.push(() => probe.endAsync());
    probe.on('message', (_t, p) => seen.push(JSON.parse(p.toString()) as StatusMsg));
    await new Promise<void>((r) => probe.on('connect', () => probe.subscribe(topics(ctx.cfg.sync.topicPrefix, 'box-1').status, () => r())));
    await waitFor(() => seen.length > 0, 5000, 'retained status');
    expect(seen[0]!.contract).toBe('1.1');
    expect(typeof seen[0]!.connectedAt).toBe('number');
  });

  it('session counts connections, not attempts: a broker down for many attempts costs one session', async () => {
    const port = await freePort();
    // nothing listens yet: the box retries every 50-300 ms
    const dir = tempDir('contract-session');
    const ctx = agentContext(dir, { url: `mqtt://127.0.0.1:${port}`, reconnectMinMs: 50, reconnectMaxMs: 100 });
    cleanups.push(() => ctx.store.close());
    const client = new SyncClient(ctx);
    cleanups.push(() => client.stop());
    await client.start();
    await waitFor(() => state(ctx).reconnects >= 5, 20_000, '5 failed attempts');
    const broker = await startAedes(port);
    cleanups.push(() => broker.close());
    await waitFor(() => client.isConnected, 20_000, 'connected');
    expect(state(ctx).session).toBe(1);
    expect(new SyncMeta(ctx.store).get<number>('session')!.value).toBe(1);
  });

  it('pauses while every receiving host says offline, and sends everything again when one comes back', async () => {
    const { ctx, client, receiver, got, outbox, broker } = await rig();
    await client.start();
    await waitFor(() => state(ctx).central === 'online', 10_000, 'central online seen');
    // the province stops cleanly: its retained state says offline
    await receiver.stop();
    await waitFor(() => state(ctx).central === 'offline', 10_000, 'central offline seen');
    const sink: number[] = [];
    const spy = mqtt.connect(broker.url);
    cleanups.push(() => spy.endAsync());
    spy.on('message', () => sink.push(1));
    await new Promise<void>((r) => spy.on('connect', () => spy.subscribe(topics(ctx.cfg.sync.topicPrefix, 'box-1').events, () => r())));
    ctx.store.tx(() => {
      for (let i = 0; i < 20; i++) outbox.enqueue('alarm', 1_760_000_000_000 + i, { kind: 'test', subject: `s${i}`, state: 'raised' });
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(sink.length).toBe(0); // nothing published while the province is away
    expect(outbox.backlog().count).toBe(20);
    const again = new CentralReceiver({ url: broker.url, prefix: ctx.cfg.sync.topicPrefix, db: path.join(tempDir('contract-c2'), 'c.db'), group: '', host: 'prov-1', onRecord: (r) => got.push(r) });
    await again.start();
    cleanups.push(() => again.stop());
    await waitFor(() => outbox.backlog().count === 0, 20_000, 'drained after the province came back');
    expect(state(ctx).central).toBe('online');
    expect(again.database.count('box-1')).toBe(20);
  });

  it('a record larger than a message travels in parts and is joined again, checked like any record', async () => {
    const { ctx, client, receiver, got, outbox } = await rig();
    const big = { kind: 'test', subject: 'big', state: 'raised', message: '课'.repeat(MAX_RECORD_BYTES) };
    ctx.store.tx(() => {
      outbox.enqueue('alarm', 1, { kind: 'small', subject: 'a', state: 'raised' });
      outbox.enqueue('alarm', 2, big, 'big-one');
      outbox.enqueue('alarm', 3, { kind: 'small', subject: 'b', state: 'raised' });
    });
    const rows = outbox.unacked(0, 100);
    expect(rows.filter((r) => r.type === 'part').length).toBeGreaterThanOrEqual(3);
    for (const r of rows) expect(Buffer.byteLength(r.payload)).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    await client.start();
    await waitFor(() => outbox.backlog().count === 0, 20_000, 'drained');
    const whole = got.find((r) => r.recordId === 'big-one')!;
    expect(whole.type).toBe('alarm');
    expect(whole.valid).toBe(true);
    expect(whole.data).toEqual(big);
    expect(got.map((r) => r.type)).toEqual(['alarm', 'alarm', 'alarm']);
    expect(receiver.database.assembled('box-1')).toHaveLength(1);
  });

  it('joined parts that carry face data are kept as invalid, never as a valid record', async () => {
    const { ctx, client, receiver, outbox } = await rig();
    ctx.store.tx(() => outbox.enqueue('alarm', 2, { kind: 'x', subject: 'y', state: 'raised', people: [{ descriptor: [0.1], pad: 'z'.repeat(200_000) }] }, 'sneaky'));
    await client.start();
    await waitFor(() => outbox.backlog().count === 0, 20_000, 'drained');
    const a = receiver.database.assembled('box-1')[0]!;
    expect(a.valid).toBe(false);
    expect(a.error).toMatch(/descriptor|propertyName|must NOT be valid/);
  });
});
