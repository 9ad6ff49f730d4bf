import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CentralReceiver } from '../central/receiver.js';
import type { AgentContext } from '../core/context.js';
import { Outbox } from '../store/outbox.js';
import { SyncMeta } from '../store/syncmeta.js';
import { Backoff } from '../core/backoff.js';
import { Retention } from '../retention/retention.js';
import { SyncClient, type SyncState } from './client.js';
import { describe as describeConn, mqttOptions } from './connect.js';
import { topics, toRanges, fromRanges } from './contract.js';
import type { RecordType } from './records.js';
import { checkRecordData, parseMessage, validators } from './schemas.js';
import { agentContext, startAedes, tempDir, waitFor, type AedesBroker } from './testkit.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(sync: Record<string, unknown> = {}, withReceiver = true) {
  const dir = tempDir('sync');
  const broker = await startAedes();
  cleanups.push(() => broker.close());
  const ctx = agentContext(dir, { url: broker.url, ackTimeoutMs: 1500, reconnectMinMs: 50, reconnectMaxMs: 400, batchSize: 100, ...sync });
  cleanups.push(() => ctx.store.close());
  let receiver: CentralReceiver | undefined;
  if (withReceiver) {
    receiver = new CentralReceiver({ url: broker.url, prefix: ctx.cfg.sync.topicPrefix, db: path.join(dir, 'central.db'), group: '', reorderTimeoutMs: 300 });
    await receiver.start();
    cleanups.push(() => receiver!.stop());
  }
  const client = new SyncClient(ctx);
  cleanups.push(() => client.stop());
  return { dir, broker, ctx, client, receiver, outbox: new Outbox(ctx.store) };
}

function produce(ctx: AgentContext, n: number, type: RecordType = 'alarm'): void {
  const ob = new Outbox(ctx.store);
  ctx.store.tx(() => {
    for (let i = 0; i < n; i++) ob.enqueue(type, 1_760_000_000_000 + i, { kind: 'test', subject: `s${i}`, message: `record ${i}`, state: 'raised' });
  });
}

function checkExactlyOnceInOrder(receiver: CentralReceiver, box: string, n: number) {
  const db = receiver.database;
  expect(db.count(box)).toBe(n);
  const rel = db.releasedSeqs(box);
  expect(rel.length).toBe(n);
  for (let i = 0; i < n; i++) expect(rel[i]).toBe(i + 1);
}

describe('contract', () => {
  it('ranges round-trip', () => {
    expect(toRanges([5, 1, 2, 3, 7, 8, 2])).toEqual([
      [1, 3],
      [5, 5],
      [7, 8],
    ]);
    expect(
      fromRanges([
        [1, 3],
        [7, 8],
      ]),
    ).toEqual([1, 2, 3, 7, 8]);
  });

  it('validates envelopes tolerantly (unknown fields ignored) and known data against its schema', () => {
    const v = validators();
    const good = { v: 1, box: 'b', batch: 'x', session: 1, sentAt: 1, floor: 1, records: [{ id: 'r1', seq: 1, type: 'checkin', at: 5, data: { anything: true } }] };
    expect(parseMessage(v.batch, JSON.stringify(good)).ok).toBe(true);
    // v1.1: a reader ignores fields it does not know, so either side can extend the contract
    const extra = { ...good, records: [{ ...good.records[0], extra: 1 }] };
    expect(parseMessage(v.batch, JSON.stringify(extra)).ok).toBe(true);
    const badSeq = { ...good, records: [{ ...good.records[0], seq: 0 }] };
    const r = parseMessage(v.batch, JSON.stringify(badSeq));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.path).toBe('records[0].seq');
    // no face data at any depth, whatever the type
    const face = { ...good, records: [{ ...good.records[0], data: { people: [{ id: 'S1', descriptor: [0.1, 0.2] }] } }] };
    expect(parseMessage(v.batch, JSON.stringify(face)).ok).toBe(false);
    expect(checkRecordData('segment', { id: 1, camera: 'c', start: 1, end: 2, bytes: 3, sha256: 'zz' })[0]!.path).toBe('data.sha256');
    expect(checkRecordData('future-type', { x: 1 })).toEqual([]);
    expect(parseMessage(v.command, '{"v":1,"id":"a","cmd":"resend","from":0}').ok).toBe(false);
    expect(parseMessage(v.command, '{"v":1,"id":"a","cmd":"resend","from":3}').ok).toBe(true);
    // no reload: the roster and schedule are imported on the box, there is nothing to reload from
    expect(parseMessage(v.command, '{"v":1,"id":"a","cmd":"reload","what":"roster"}').ok).toBe(false);
    expect(parseMessage(v.command, '{"v":1,"id":"a","cmd":"ping","from":3}').ok).toBe(true);
    expect(parseMessage(v.command, '{"v":1,"id":"a","cmd":"explode"}').ok).toBe(false);
  });
});

describe('connection options', () => {
  it('reads the password from its file, and the loggable view carries no secret', () => {
    const dir = tempDir('sync-opts');
    const file = path.join(dir, 'mqtt.pass');
    fs.writeFileSync(file, 's3cret-pw\n');
    const ctx = agentContext(dir, { url: 'mqtts://user:pw@127.0.0.1:8883', username: 'box-1', password: { file } });
    try {
      const o = mqttOptions(ctx.cfg.sync, 'ca-box-1');
      expect(o.password).toBe('s3cret-pw');
      expect(o.clean).toBe(true);
      expect(o.reconnectPeriod).toBe(0);
      const d = JSON.stringify(describeConn(ctx.cfg.sync));
      expect(d).not.toContain('s3cret');
      expect(d).not.toContain(':pw@');
      expect(() => mqttOptions({ ...ctx.cfg.sync, password: { file: path.join(dir, 'missing') } }, 'x')).toThrow(/sync.password/);
    } finally {
      ctx.store.close();
    }
  });

  it('backoff doubles with jitter and is capped', () => {
    const b = new Backoff(100, 1000, () => 1);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    const j = new Backoff(100, 1000, () => 0);
    expect(j.next()).toBe(50);
    b.reset();
    expect(b.next()).toBe(100);
  });
});

describe('sync over aedes', () => {
  it('drains the outbox, settles only on the application ack, records arrive once and in order', async () => {
    const { ctx, client, receiver, outbox } = await setup();
    produce(ctx, 1000);
    const acked: number[] = [];
    ctx.bus.on({}, 'sync.acked', (e) => acked.push(...e.seqs));
    await client.start();
    await waitFor(() => outbox.backlog().count === 0, 20_000, 'backlog 0');
    checkExactlyOnceInOrder(receiver!, 'box-1', 1000);
    expect(new Set(acked).size).toBe(1000);
    // produced while connected: picked up by the poll
    produce(ctx, 50);
    await waitFor(() => outbox.backlog().count === 0, 10_000, 'second backlog 0');
    checkExactlyOnceInOrder(receiver!, 'box-1', 1050);
    const st = new SyncMeta(ctx.store).get<SyncState>('state')!.value;
    expect(st.lastAckMs).not.toBeNull();
    // the central side saw the status
    await waitFor(() => receiver!.database.box('box-1')?.status_state === 'online', 5000, 'status online');
  });

  it('a receiver that never acks: everything kept, resent on timeout, backlog reported', async () => {
    const { ctx, client, broker, outbox } = await setup({ ackTimeoutMs: 400 }, false);
    // a subscriber that takes the batches (PUBACKs them) but never sends the application ack
    const sink = mqtt.connect(broker.url, { clientId: 'never-acks' });
    cleanups.push(() => sink.endAsync());
    const seen: number[] = [];
    sink.on('message', (_t, p) => {
      for (const r of JSON.parse(p.toString()).records) seen.push(r.seq);
    });
    await new Promise<void>((r) => sink.on('connect', () => sink.subscribe(topics(ctx.cfg.sync.topicPrefix, 'box-1').events, { qos: 1 }, () => r())));
    produce(ctx, 120);
    await client.start();
    // each of the 120 sent at least twice (initial + timeout resends), nothing settled
    await waitFor(() => seen.filter((s) => s === 120).length >= 2 && seen.filter((s) => s === 1).length >= 2, 10_000, 'resends');
    expect(outbox.backlog().count).toBe(120);
    const row = ctx.store.db.prepare('SELECT MIN(sent_count) AS m FROM outbox').get() as { m: number };
    expect(row.m).toBeGreaterThanOrEqual(2);
    expect(ctx.store.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE acked_ms IS NOT NULL').get()).toEqual({ n: 0 });
    // what `sync status` reports: connected, resends counted, no ack ever
    const meta = new SyncMeta(ctx.store);
    await waitFor(() => (meta.get<SyncState>('state')?.value.resends ?? 0) > 0, 5000, 'state with resends');
    expect(meta.get<SyncState>('state')!.value).toMatchObject({ connected: true, lastAckMs: null });
  });

  it('refuses malformed commands with a log line and changes nothing; obeys good ones', async () => {
    const { ctx, client, broker, receiver, outbox } = await setup();
    const lines: string[] = [];
    ctx.log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    produce(ctx, 30);
    await client.start();
    await waitFor(() => outbox.backlog().count === 0, 10_000, 'drained');
    const t = topics(ctx.cfg.sync.topicPrefix, 'box-1');
    const ctl = mqtt.connect(broker.url, { clientId: 'ctl' });
    cleanups.push(() => ctl.endAsync());
    const replies: Array<{ id: string; ok: boolean; backlog?: number }> = [];
    ctl.on('message', (_t, p) => replies.push(JSON.parse(p.toString())));
    await new Promise<void>((r) => ctl.on('connect', () => ctl.subscribe(t.reply, { qos: 1 }, () => r())));
    const before = receiver!.database.count('box-1');
    const dupsBefore = receiver!.stats.duplicates;
    for (const bad of [
      'not json',
      '{"v":1,"id":"r1","cmd":"reload","what":"roster"}',
      '{"v":1,"id":"x","cmd":"resend"}',
      '{"v":1,"id":"x","cmd":"resend","from":-5}',
      '{"v":2,"id":"x","cmd":"ping"}',
      '{"v":1,"id":"x","cmd":"format-disk"}',
      '[]',
    ]) {
      await ctl.publishAsync(t.cmd, bad, { qos: 1 });
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(replies).toEqual([]);
    expect(lines.filter((l) => l.includes('command refused'))).toHaveLength(7);
    expect(receiver!.stats.duplicates).toBe(dupsBefore); // no resend happened
    await ctl.publishAsync(t.cmd, JSON.stringify({ v: 1, id: 'p1', cmd: 'ping' }), { qos: 1 });
    await ctl.publishAsync(t.cmd, JSON.stringify({ v: 1, id: 'rs', cmd: 'resend', from: 11 }), { qos: 1 });
    await waitFor(() => replies.length === 2, 5000, 'replies');
    expect(replies.find((r) => r.id === 'p1')).toMatchObject({ ok: true, backlog: 0 });
    // resend from 11 of acked records: 20 duplicates arrive, deduplicated
    await waitFor(() => receiver!.stats.duplicates - dupsBefore === 20, 5000, 'replayed');
    expect(receiver!.database.count('box-1')).toBe(before);
  });

  it('inspection disabled: live, clip and live-stop are refused at once, not left unanswered', async () => {
    const dir = tempDir('sync-noinsp');
    const broker = await startAedes();
    cleanups.push(() => broker.close());
    const ctx = agentContext(dir, { url: broker.url, reconnectMinMs: 50, reconnectMaxMs: 400 }, 'box-1', { inspection: { enabled: false } });
    cleanups.push(() => ctx.store.close());
    const heard: string[] = [];
    for (const e of ['inspection.request', 'inspection.stop', 'clip.request'] as const) ctx.bus.on(heard, e, () => heard.push(e));
    const client = new SyncClient(ctx);
    cleanups.push(() => client.stop());
    await client.start();
    await waitFor(() => client.isConnected, 10_000, 'connected');
    const t = topics(ctx.cfg.sync.topicPrefix, 'box-1');
    const ctl = mqtt.connect(broker.url, { clientId: 'ctl-noinsp' });
    cleanups.push(() => ctl.endAsync());
    const replies: Array<{ id: string; cmd: string; ok: boolean; state?: string; message?: string }> = [];
    ctl.on('message', (_t, p) => replies.push(JSON.parse(p.toString())));
    await new Promise<void>((r) => ctl.on('connect', () => ctl.subscribe(t.reply, { qos: 1 }, () => r())));
    // a ping answered first: the box's command subscription is in place
    await waitFor(
      () => {
        if (!replies.length) void ctl.publishAsync(t.cmd, JSON.stringify({ v: 1, id: 'p0', cmd: 'ping' }), { qos: 1 });
        return replies.length > 0;
      },
      10_000,
      'a ping reply',
      500,
    );
    replies.length = 0;
    await ctl.publishAsync(t.cmd, JSON.stringify({ v: 1, id: 'l1', cmd: 'live', camera: 'cam-1', key: 'k1' }), { qos: 1 });
    await ctl.publishAsync(t.cmd, JSON.stringify({ v: 1, id: 'c1', cmd: 'clip', camera: 'cam-1', from: 1_760_000_000_000, to: 1_760_000_060_000, token: 'ab'.repeat(32) }), { qos: 1 });
    await ctl.publishAsync(t.cmd, JSON.stringify({ v: 1, id: 's1', cmd: 'live-stop', inspection: 'l1' }), { qos: 1 });
    await waitFor(() => replies.length === 3, 10_000, 'the 3 refusals');
    for (const r of replies) {
      expect(parseMessage(validators().reply, JSON.stringify(r)).ok).toBe(true);
      expect(r).toMatchObject({ ok: false, message: expect.stringContaining('inspection.enabled: false') });
    }
    expect(replies.map((r) => [r.id, r.cmd, r.state])).toEqual([
      ['l1', 'live', 'refused'],
      ['c1', 'clip', 'refused'],
      ['s1', 'live-stop', undefined],
    ]);
    expect(heard).toEqual([]);
  });

  it('broker restart mid-drain: reconnects with backoff, nothing lost, nothing doubled', async () => {
    const s = await setup({ batchSize: 50, maxInFlight: 2 });
    produce(s.ctx, 3000);
    await s.client.start();
    await waitFor(() => s.outbox.backlog().count < 2500, 10_000, 'partial drain');
    await s.broker.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(s.client.isConnected).toBe(false);
    produce(s.ctx, 500); // while the broker is down
    const again = await startAedes(s.broker.port);
    cleanups.push(() => again.close());
    await waitFor(() => s.outbox.backlog().count === 0, 30_000, 'drain after restart');
    checkExactlyOnceInOrder(s.receiver!, 'box-1', 3500);
  });

  it('central detects a sequence gap and asks for a resend; reorders into sequence order', async () => {
    const { ctx, broker, receiver } = await setup();
    produce(ctx, 10);
    const ob = new Outbox(ctx.store);
    const rows = ob.unacked(0, 100);
    const t = topics(ctx.cfg.sync.topicPrefix, 'box-1');
    const pub = mqtt.connect(broker.url, { clientId: 'fake-box' });
    cleanups.push(() => pub.endAsync());
    const cmds: Array<{ cmd: string; from: number }> = [];
    pub.on('message', (_t, p) => cmds.push(JSON.parse(p.toString())));
    await new Promise<void>((r) => pub.on('connect', () => pub.subscribe(t.cmd, { qos: 1 }, () => r())));
    const batch = (rs: typeof rows) =>
      JSON.stringify({
        v: 1,
        box: 'box-1',
        batch: `b${rs[0]!.seq}`,
        session: 1,
        sentAt: Date.now(),
        floor: 1,
        records: rs.map((r) => ({ id: r.recordId, seq: r.seq, type: r.type, at: r.at, data: r.data })),
      });
    await pub.publishAsync(t.events, batch(rows.slice(5)), { qos: 1 }); // 6..10 first: a hole at 1..5
    await waitFor(() => cmds.length > 0, 5000, 'resend request');
    expect(cmds[0]).toMatchObject({ cmd: 'resend', from: 1 });
    expect(receiver!.database.releasedSeqs('box-1')).toEqual([]);
    await pub.publishAsync(t.events, batch(rows.slice(0, 5)), { qos: 1 });
    await waitFor(() => receiver!.database.releasedSeqs('box-1').length === 10, 5000, 'released');
    expect(receiver!.database.releasedSeqs('box-1')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // a batch on another box's topic is refused, not stored
    await pub.publishAsync(topics(ctx.cfg.sync.topicPrefix, 'box-2').events, batch(rows.slice(0, 2)), { qos: 1 });
    await waitFor(() => receiver!.stats.refused === 1, 5000, 'refused');
    expect(receiver!.database.count('box-2')).toBe(0);
  });

  it('a late will of an older session never overwrites a newer status', async () => {
    const { ctx, client, broker, receiver } = await setup();
    await client.start();
    await waitFor(() => receiver!.database.box('box-1')?.status_state === 'online', 5000, 'online');
    const session = receiver!.database.box('box-1')!.status_session!;
    const t = topics(ctx.cfg.sync.topicPrefix, 'box-1');
    const late = mqtt.connect(broker.url, { clientId: 'late-will' });
    cleanups.push(() => late.endAsync());
    await new Promise<void>((r) => late.on('connect', () => r()));
    await late.publishAsync(t.status, JSON.stringify({ v: 1, box: 'box-1', state: 'offline', session: session - 1, at: Date.now() }), { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver!.database.box('box-1')!.status_state).toBe('online');
    // and the agent put its online status back as the retained one
    const probe = mqtt.connect(broker.url, { clientId: 'probe' });
    cleanups.push(() => probe.endAsync());
    const got: Array<{ state: string; session: number }> = [];
    probe.on('message', (_t, p) => got.push(JSON.parse(p.toString())));
    await new Promise<void>((r) => probe.on('connect', () => probe.subscribe(t.status, { qos: 1 }, () => r())));
    await waitFor(() => got.length > 0, 3000, 'retained status');
    expect(got[got.length - 1]).toMatchObject({ state: 'online', session });
    await client.stop();
    await waitFor(() => receiver!.database.box('box-1')?.status_state === 'stopped', 5000, 'stopped');
  });

  it('hears retention say the disk is full: raises a disk-budget alarm and keeps the outbox', async () => {
    const dir = tempDir('sync-disk');
    const broker: AedesBroker = await startAedes();
    cleanups.push(() => broker.close());
    const ctx = agentContext(dir, { url: broker.url }, 'box-1', { retention: { diskBudgetBytes: 1024 } });
    cleanups.push(() => ctx.store.close());
    produce(ctx, 100);
    const client = new SyncClient(ctx);
    cleanups.push(() => client.stop());
    await client.start();
    // retention owns the disk: its pass measures video and database against the budget
    await new Retention(ctx).pass();
    await waitFor(() => (ctx.store.db.prepare("SELECT COUNT(*) AS n FROM alarms WHERE kind = 'sync-disk-budget' AND cleared_ms IS NULL").get() as { n: number }).n === 1, 5000, 'alarm');
    // nothing trimmed; the alarms (retention's disk-full and sync's) travel through the outbox too
    expect(new Outbox(ctx.store).maxSeq()).toBe(100 + (ctx.store.db.prepare('SELECT COUNT(*) AS n FROM alarms').get() as { n: number }).n);
    expect(fs.existsSync(ctx.paths.database)).toBe(true);
  });
});
