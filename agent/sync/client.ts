import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { logger } from '../core/log.js';
import type { AgentContext } from '../core/context.js';
import type { AgentEvents } from '../core/events.js';
import type { Module } from '../core/module.js';
import { AlarmRepo } from '../store/alarms.js';
import { Outbox, type OutboxRecord } from '../store/outbox.js';
import { SyncMeta } from '../store/syncmeta.js';
import { Backoff } from '../core/backoff.js';
import { describe, mqttOptions } from './connect.js';
import { AGENT_VERSION } from '../core/paths.js';
import { allCentralStates, parseCentralStateTopic, topics, type AckMsg, type BatchMsg, type CentralStateMsg, type CommandMsg, type ReplyMsg, type StatusMsg, type StatusState } from './contract.js';
import { CONTRACT_MINOR, MAX_MESSAGE_BYTES } from './records.js';
import { parseMessage, validators } from './schemas.js';

/** Keep a batch under broker limits (Mosquitto acks and then silently drops oversize). */
const MAX_BATCH_BYTES = MAX_MESSAGE_BYTES - 4096;
const TICK_MS = 200;
const META_EVERY_MS = 2000;
/** a connection this old is stable: the next failure starts the backoff from its minimum */
const STABLE_MS = 60_000;

interface InFlight {
  seqs: number[];
  sentAt: number;
}

/** What `sync status` shows; written to sync_meta under 'state'. */
export interface SyncState {
  connected: boolean;
  since: number | null;
  session: number;
  url: string;
  lastAckMs: number | null;
  /** records settled per second over the last minute */
  throughput: number;
  inFlightBatches: number;
  reconnects: number;
  resends: number;
  heartbeatMs: number;
  /**
   * v1.1: the province's receiving hosts as their retained state says: 'online' when any is,
   * 'offline' when every host seen said offline (sending pauses, the outbox keeps everything),
   * 'unknown' when none ever announced itself (a 1.0 central: sending goes on as before).
   */
  central: 'online' | 'offline' | 'unknown';
  centralSince: number | null;
}

/**
 * Store-and-forward to the provincial system: drains the outbox in QoS 1 batches with a bounded
 * number in flight, settles rows only on central's application ack (never on PUBACK), resends
 * unacked batches on timeout and on every reconnect, obeys central's commands, and keeps a
 * retained status with a last will. The only module that imports mqtt.
 */
export class SyncClient implements Module {
  readonly name = 'sync';
  private log!: Logger;
  private outbox!: Outbox;
  private meta!: SyncMeta;
  private alarms!: AlarmRepo;
  private client?: MqttClient;
  private t!: ReturnType<typeof topics>;
  private backoff!: Backoff;
  private session = 0;
  private connected = false;
  private connectedAt = 0;
  /** wall-clock start of the current connection (status `connectedAt`) */
  private connectedAtMs?: number;
  private stopping = false;
  private inFlight = new Map<string, InFlight>();
  /** highest seq handed to a batch on this connection (unacked rows above it are new) */
  private cursor = 0;
  private replay?: { next: number; to: number };
  private tick?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private lastMeta = 0;
  private settledLog: Array<[number, number]> = [];
  private lastAckMs: number | null = null;
  private reconnects = 0;
  private resends = 0;
  /** receiving hosts' last state (v1.1 primary-host awareness) */
  private hosts = new Map<string, boolean>();
  private centralSince: number | null = null;

  constructor(private ctx: AgentContext) {}

  async start(): Promise<void> {
    const { cfg, store } = this.ctx;
    // why: pino cannot override a binding, so a child of a logger that already has a namespace
    // (the daemon's ca:daemon) would print "ns" twice; then take our own namespaced logger
    this.log = this.ctx.log.bindings().ns === undefined ? this.ctx.log.child({ ns: 'ca:sync' }) : logger('sync');
    if (!cfg.sync.enabled) {
      this.log.info('sync disabled (sync.enabled: false); records stay in the outbox');
      return;
    }
    this.outbox = new Outbox(store);
    this.meta = new SyncMeta(store);
    this.alarms = new AlarmRepo(store);
    this.t = topics(cfg.sync.topicPrefix, cfg.box.id);
    this.backoff = new Backoff(cfg.sync.reconnectMinMs, cfg.sync.reconnectMaxMs);
    this.lastAckMs = this.meta.get<SyncState>('state')?.value.lastAckMs ?? null;
    validators(); // load the schemas now: a broken install fails at start, not at the first ack
    this.stopping = false;
    // why a candidate: `session` counts connections, so an attempt that fails does not use one up
    this.session = this.meta.peekSession();
    const opts = mqttOptions(cfg.sync, `ca-${cfg.box.id}`);
    opts.will = { topic: this.t.status, payload: Buffer.from(JSON.stringify(this.statusMsg('offline'))), qos: 1, retain: true };
    this.log.info({ ...describe(cfg.sync), box: cfg.box.id, session: this.session }, 'connecting');
    const client = mqtt.connect(cfg.sync.url, opts);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      // why only the message: errors of tls/net never carry credentials, but option objects could
      this.log.warn({ err: err.message, code: (err as { code?: unknown }).code }, 'mqtt error');
      if (!this.connected) this.scheduleReconnect();
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.ctx.bus.on(this, 'disk.status', (d) => this.onDisk(d));
    this.ctx.bus.on(this, 'inspection.state', (e) => this.reply({ id: e.id, cmd: e.kind, ok: e.state !== 'refused' && e.state !== 'failed', state: e.state, message: e.message }));
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.writeState();
  }

  async stop(): Promise<void> {
    if (!this.meta) return; // never started
    this.stopping = true;
    clearInterval(this.tick);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      if (this.connected) {
        // why: a clean shutdown says so, and a DISCONNECT suppresses the will (offline)
        await new Promise<void>((resolve) => {
          client.publish(this.t.status, JSON.stringify(this.statusMsg('stopped')), { qos: 1, retain: true }, () => resolve());
          setTimeout(resolve, 2000).unref();
        });
        // a graceful end waits for in-flight PUBACKs; on a bad link that may never come
        const graceful = client.endAsync().catch(() => undefined);
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
        if ((await Promise.race([graceful, timer])) === 'timeout') await client.endAsync(true).catch(() => undefined);
      } else {
        await client.endAsync(true).catch(() => undefined);
      }
    }
    this.connected = false;
    this.inFlight.clear();
    this.writeState();
    this.ctx.bus.removeListeners(this);
  }

  /** Ask for a resend of every record from `from` (acked or not): central lost something. */
  resendFrom(from: number): void {
    const to = this.outbox.maxSeq();
    const next = Math.max(from, this.outbox.floor());
    this.replay = next <= to ? { next, to } : undefined;
    this.log.info({ from, to }, 'resend requested');
    this.pump();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  private statusMsg(state: StatusState, connectedAt = this.connectedAtMs ?? this.ctx.now()): StatusMsg {
    return { v: 1, box: this.ctx.cfg.box.id, state, session: this.session, at: this.ctx.now(), connectedAt, agent: 'classroom-agent', contract: CONTRACT_MINOR, agentVersion: AGENT_VERSION };
  }

  /** Whether the province is known to be away (every receiving host that announced itself said offline). */
  private get centralAway(): boolean {
    return this.hosts.size > 0 && ![...this.hosts.values()].some(Boolean);
  }

  private centralState(): SyncState['central'] {
    return this.hosts.size === 0 ? 'unknown' : this.centralAway ? 'offline' : 'online';
  }

  private onConnect(): void {
    this.connected = true;
    this.connectedAt = performance.now();
    this.connectedAtMs = this.ctx.now();
    this.meta.commitSession(this.session);
    // why: every connection starts from the oldest unacked row; whatever was in flight on the
    // old connection is resent (duplicates are harmless: central dedups by box + record id)
    this.inFlight.clear();
    this.cursor = 0;
    const client = this.client!;
    client.subscribe([this.t.ack, this.t.cmd, this.t.status, allCentralStates(this.ctx.cfg.sync.topicPrefix)], { qos: 1 }, (err) => {
      if (err) this.log.warn({ err: err.message }, 'subscribe failed');
    });
    // online on EVERY connect (zigbee2mqtt #4854): a broker restart may have lost the retained one
    client.publish(this.t.status, JSON.stringify({ ...this.statusMsg('online'), backlog: this.outbox.backlog().count }), { qos: 1, retain: true });
    this.log.info({ session: this.session, attempts: this.backoff.attempts }, 'connected');
    this.writeState();
    this.pump();
  }

  private onClose(): void {
    const was = this.connected;
    this.connected = false;
    this.inFlight.clear();
    if (was) {
      if (performance.now() - this.connectedAt > STABLE_MS) this.backoff.reset();
      this.log.warn({ session: this.session }, 'disconnected');
      this.writeState();
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer || !this.client) return;
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      const client = this.client;
      if (this.stopping || !client || this.connected) return;
      // a new connection is a new session: its will must outrank nothing newer than itself
      this.session = this.meta.peekSession();
      this.connectedAtMs = undefined;
      if (client.options.will) client.options.will.payload = Buffer.from(JSON.stringify(this.statusMsg('offline')));
      this.reconnects++;
      client.reconnect();
    }, delay);
    this.log.debug({ delay }, 'reconnect scheduled');
  }

  private onMessage(topic: string, payload: Buffer): void {
    try {
      if (topic === this.t.ack) this.onAck(payload);
      else if (topic === this.t.cmd) this.onCommand(payload);
      else if (topic === this.t.status) this.onOwnStatus(payload);
      else this.onCentralState(topic, payload);
    } catch (err) {
      this.log.error({ err: (err as Error).message, topic }, 'message handling failed');
    }
  }

  private onAck(payload: Buffer): void {
    const r = parseMessage<AckMsg>(validators().ack, payload);
    if (!r.ok || r.value.box !== this.ctx.cfg.box.id) {
      this.log.warn({ topic: this.t.ack, issues: r.ok ? [{ path: 'box', message: 'not this box' }] : r.issues }, 'ack refused');
      return;
    }
    const ack = r.value;
    const now = this.ctx.now();
    this.lastAckMs = now;
    // settling and the state the CLI reads go in one transaction (one fsync per ack)
    const settled = this.ctx.store.tx(() => {
      const out = this.outbox.settle(ack.ranges, now);
      if (out.length) this.settledLog.push([performance.now(), out.length]);
      this.writeState();
      return out;
    });
    this.backoff.reset();
    if (ack.batch) this.inFlight.delete(ack.batch);
    // a batch may also be covered by acks of other batches (resends, replays)
    if (this.inFlight.size) {
      for (const [id, b] of this.inFlight) {
        if (b.seqs.every((s) => ack.ranges.some(([a, z]) => s >= a && s <= z))) this.inFlight.delete(id);
      }
    }
    if (settled.length) {
      this.ctx.bus.emit('sync.acked', { seqs: settled, at: now });
    }
    this.pump();
  }

  private onCommand(payload: Buffer): void {
    const r = parseMessage<CommandMsg>(validators().command, payload);
    if (!r.ok) {
      // refused: logged, nothing changes (and no reply: a malformed command may have no id)
      this.log.warn({ topic: this.t.cmd, issues: r.issues.slice(0, 10), bytes: payload.length }, 'command refused');
      return;
    }
    const c = r.value;
    this.log.info({ cmd: c.cmd, id: c.id }, 'command');
    if (c.cmd === 'resend') {
      this.resendFrom(c.from);
      this.reply({ id: c.id, cmd: c.cmd, ok: true, message: `resending from ${c.from}` });
    } else if (c.cmd === 'ping') {
      this.reply({ id: c.id, cmd: c.cmd, ok: true, backlog: this.outbox.backlog().count });
    } else if (!this.ctx.cfg.inspection.enabled) {
      // live, clip and live-stop are heard only by the inspection module, which this box does not
      // run: say so at once instead of leaving the province waiting for a reply that never comes
      this.reply({ id: c.id, cmd: c.cmd, ok: false, ...(c.cmd === 'live-stop' ? {} : { state: 'refused' as const }), message: 'inspection is disabled on this box (inspection.enabled: false)' });
    } else if (c.cmd === 'live') {
      // the inspection module answers through 'inspection.state' (accepted, pushing, refused, ended)
      this.ctx.bus.emit('inspection.request', { id: c.id, camera: c.camera, key: c.key, seconds: c.seconds, at: this.ctx.now() });
    } else if (c.cmd === 'clip') {
      this.ctx.bus.emit('clip.request', { id: c.id, camera: c.camera, from: c.from, to: c.to, token: c.token, at: this.ctx.now() });
    } else if (c.cmd === 'live-stop') {
      this.ctx.bus.emit('inspection.stop', { id: c.inspection, at: this.ctx.now() });
      this.reply({ id: c.id, cmd: c.cmd, ok: true, message: `stop of ${c.inspection} requested` });
    }
  }

  /** A stale will (lower session) overwrote our retained status: put `online` back. */
  private onOwnStatus(payload: Buffer): void {
    const r = parseMessage<StatusMsg>(validators().status, payload);
    if (!r.ok || !this.connected) return;
    if (r.value.state !== 'online' && r.value.session < this.session) {
      this.log.info({ stale: r.value.session, session: this.session }, 'stale will seen, republishing online');
      this.client?.publish(this.t.status, JSON.stringify(this.statusMsg('online')), { qos: 1, retain: true });
    }
  }

  /**
   * A receiving host's retained state. While every known host is offline, nothing is published
   * (batches would reach no one and time out again and again); when one comes back, every
   * unacked row is sent again from the start, as after a reconnect.
   */
  private onCentralState(topic: string, payload: Buffer): void {
    const host = parseCentralStateTopic(this.ctx.cfg.sync.topicPrefix, topic);
    if (!host) return;
    const wasAway = this.centralAway;
    if (!payload.length)
      this.hosts.delete(host); // retained state cleared: that host is gone
    else {
      const r = parseMessage<CentralStateMsg>(validators().centralState, payload);
      if (!r.ok) {
        this.log.warn({ topic, issues: r.issues.slice(0, 5) }, 'central state refused');
        return;
      }
      this.hosts.set(host, r.value.online);
    }
    const away = this.centralAway;
    if (away === wasAway) return;
    this.centralSince = this.ctx.now();
    if (away) this.log.warn({ hosts: [...this.hosts.keys()] }, 'the province is offline: sending paused, records kept');
    else {
      this.log.info({ host }, 'the province is back: resending every unacked record');
      this.inFlight.clear();
      this.cursor = 0;
      this.pump();
    }
    this.writeState();
  }

  private reply(r: Omit<ReplyMsg, 'v' | 'box' | 'at'>): void {
    const msg: ReplyMsg = { v: 1, box: this.ctx.cfg.box.id, at: this.ctx.now(), ...r };
    this.client?.publish(this.t.reply, JSON.stringify(msg), { qos: 1 });
  }

  /** Fill the in-flight window: replays first (central asked), then new unacked rows. */
  private pump(): void {
    const client = this.client;
    if (!client || !this.connected || this.stopping || this.centralAway) return;
    const { batchSize, maxInFlight } = this.ctx.cfg.sync;
    while (this.inFlight.size < maxInFlight) {
      let rows: OutboxRecord[];
      if (this.replay) {
        rows = this.outbox.range(this.replay.next, this.replay.to, batchSize, MAX_BATCH_BYTES);
        if (!rows.length) {
          this.replay = undefined;
          continue;
        }
        this.replay.next = rows[rows.length - 1]!.seq + 1;
        if (this.replay.next > this.replay.to) this.replay = undefined;
      } else {
        rows = this.outbox.unacked(this.cursor, batchSize, MAX_BATCH_BYTES);
        if (!rows.length) return;
        this.cursor = rows[rows.length - 1]!.seq;
      }
      this.send(rows);
    }
  }

  private send(rows: OutboxRecord[]): void {
    const id = randomUUID();
    const head: Omit<BatchMsg, 'records'> = { v: 1, box: this.ctx.cfg.box.id, batch: id, session: this.session, sentAt: this.ctx.now(), floor: this.outbox.floor() };
    // the stored JSON of each record is spliced in as is (it was produced by JSON.stringify)
    const records = rows.map((r) => `{"id":${JSON.stringify(r.recordId)},"seq":${r.seq},"type":${JSON.stringify(r.type)},"at":${r.at},"data":${r.payload}}`);
    const body = `${JSON.stringify(head).slice(0, -1)},"records":[${records.join(',')}]}`;
    const seqs = rows.map((r) => r.seq);
    this.inFlight.set(id, { seqs, sentAt: performance.now() });
    this.outbox.markSent(seqs, this.ctx.now());
    // the PUBACK callback is informational only: a row is settled by central's ack, never here
    this.client!.publish(this.t.events, body, { qos: 1 }, (err) => {
      if (err) this.log.debug({ err: err.message, batch: id }, 'publish not completed');
    });
  }

  private onTick(): void {
    if (this.stopping) return;
    const now = performance.now();
    try {
      const req = this.meta.take<{ from: number }>('resendRequest');
      if (req) this.resendFrom(req.from);
      if (this.connected && !this.centralAway) {
        // batches without an ack in time are resent (covers half-open links, mqtt.js #1181,
        // a receiver that died holding them, a broker that dropped them)
        for (const [id, b] of this.inFlight) {
          if (now - b.sentAt < this.ctx.cfg.sync.ackTimeoutMs) continue;
          this.inFlight.delete(id);
          const rows = this.outbox.stillUnacked(b.seqs);
          if (rows.length) {
            this.resends++;
            this.log.info({ batch: id, records: rows.length }, 'ack timeout, resending');
            this.send(rows);
          }
        }
        this.pump();
      }
      if (now - this.lastMeta >= META_EVERY_MS) this.writeState();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'sync tick failed');
    }
  }

  private throughput(): number {
    const now = performance.now();
    this.settledLog = this.settledLog.filter(([t]) => now - t <= 60_000);
    if (!this.settledLog.length) return 0;
    const n = this.settledLog.reduce((a, [, c]) => a + c, 0);
    const span = Math.max(1000, now - this.settledLog[0]![0]);
    return Math.round((n * 1000) / span);
  }

  private writeState(): void {
    this.lastMeta = performance.now();
    const s: SyncState = {
      connected: this.connected,
      since: this.connected ? this.ctx.now() - Math.round(performance.now() - this.connectedAt) : null,
      session: this.session,
      url: describe(this.ctx.cfg.sync).url as string,
      lastAckMs: this.lastAckMs,
      throughput: this.throughput(),
      inFlightBatches: this.inFlight.size,
      reconnects: this.reconnects,
      resends: this.resends,
      heartbeatMs: this.ctx.now(),
      central: this.centralState(),
      centralSince: this.centralSince,
    };
    this.meta.set('state', s);
  }

  /**
   * The outbox is never trimmed to make room. Retention owns the disk (it measures video and
   * database against the budget, and forecasts); when it says the disk is full, sync says what
   * that means for the provincial system with an alarm (which itself travels through the
   * outbox) and keeps every record.
   */
  private onDisk(d: AgentEvents['disk.status']): void {
    const box = this.ctx.cfg.box.id;
    if (d.full) {
      const b = this.outbox.backlog();
      const msg = `disk budget reached (${d.usedBytes} bytes used, ${d.availableBytes} bytes left); ${b.count} records not yet acknowledged by the provincial system are kept`;
      if (this.alarms.raise('sync-disk-budget', box, msg)) this.log.error({ usedBytes: d.usedBytes, availableBytes: d.availableBytes, backlog: b.count }, 'disk budget reached; outbox kept');
    } else {
      this.alarms.clear('sync-disk-budget', box);
    }
  }
}
