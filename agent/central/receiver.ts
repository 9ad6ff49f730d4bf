import { randomUUID } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { logger } from '../core/log.js';
import {
  allBoxes,
  centralStateTopic,
  CONTRACT_MINOR,
  parseTopic,
  toRanges,
  topics,
  type AckMsg,
  type BatchMsg,
  type CentralStateMsg,
  type CommandMsg,
  type ReplyMsg,
  type StatusMsg,
  type WireRecord,
} from '../sync/contract.js';
import { checkRecordData, issuesOf, parseMessage, validators } from '../sync/schemas.js';
import { CentralDb, type StoredRecord } from './db.js';
import { Witness, type LogKeyRecord } from './witness.js';
import type { CheckpointRecord } from '../evidence/verifier.js';
import { clipToken } from './clips.js';
import { PgCentralDb } from './pg.js';
import { isPostgresUrl, type CentralStore } from './store.js';

export interface ReceiverOptions {
  url: string;
  prefix: string;
  /**
   * the receiver's database (its own, never the box's): a `postgres://` URL (several instances
   * on several hosts share it) or an SQLite file's path (one host: the demo, small deployments)
   */
  db: string;
  /**
   * shared-subscription group: `$share/<group>/...` lets several receivers split the load.
   * Empty for brokers without shared subscriptions (aedes).
   */
  group?: string;
  clientId?: string;
  /**
   * MQTT connections of this instance in the shared group (needs `group`). mqtt.js hands a
   * connection its next message only after the previous one's PUBACK, which waits for the commit:
   * one connection stores one batch at a time, and a morning reconnect of thousands of boxes then
   * queues longer than the boxes' ack timeout (measured in `npm run bench -- province`).
   * Default 4 with PostgreSQL, 1 with SQLite (one writer anyway).
   */
  consumers?: number;
  /**
   * this receiving host's name in `<prefix>/_central/<host>/state` (v1.1), default the client id.
   * Boxes pause sending while every host they know of says offline.
   */
  host?: string;
  mqtt?: Partial<IClientOptions>;
  /** how long a hole in a box's sequence may last before asking for a resend */
  reorderTimeoutMs?: number;
  /** secret shared with the clip intake (ClipIntake): tokens of `clip` commands are made from it */
  clipSecret?: string;
  /** a box's answer to a command (ping, resend, live: several answers share the command's id) */
  onReply?: (box: string, reply: ReplyMsg) => void;
  /** in-order delivery of each box's records (after dedup and reordering) */
  onRecord?: (r: StoredRecord) => void;
  log?: Logger;
  now?: () => number;
}

/**
 * Reference implementation of the provincial system's receiving side (and the demo's and tests'
 * stand-in for it). It shows how the real one must behave:
 *  - validate every batch against the v1 JSON Schemas; refuse what does not parse;
 *  - store each record once per (box, record id), in a transaction;
 *  - ack on <prefix>/<box>/ack only AFTER that commit, and send the broker's PUBACK only after
 *    it too (handleMessage is overridden: mqtt.js's 'message' event would PUBACK first);
 *  - release records per box in sequence order, holding later ones while a hole is open;
 *  - when a hole lasts longer than reorderTimeoutMs, ask the box to resend from the hole.
 */
export class CentralReceiver {
  private client?: MqttClient;
  /** the further members of the shared group (see ReceiverOptions.consumers) */
  private extra: MqttClient[] = [];
  private db?: CentralStore;
  private gapCheck?: Promise<void>;
  private witness?: Witness;
  private log: Logger;
  private timer?: NodeJS.Timeout;
  private now: () => number;
  private host = '';
  readonly stats = { batches: 0, records: 0, fresh: 0, duplicates: 0, invalid: 0, refused: 0, resendAsks: 0 };

  constructor(private opts: ReceiverOptions) {
    this.log = opts.log ?? logger('central');
    this.now = opts.now ?? Date.now;
  }

  get witnessOf(): Witness {
    if (!this.witness) throw new Error('receiver not started');
    return this.witness;
  }

  /** The SQLite database (tests and the demo read it directly). */
  get database(): CentralDb {
    if (!(this.db instanceof CentralDb)) throw new Error(this.db ? 'the receiver stores into PostgreSQL: use .store' : 'receiver not started');
    return this.db;
  }

  get store(): CentralStore {
    if (!this.db) throw new Error('receiver not started');
    return this.db;
  }

  async start(): Promise<void> {
    validators();
    const pgUrl = isPostgresUrl(this.opts.db);
    const consumers = this.opts.group === '' ? 1 : Math.max(1, this.opts.consumers ?? (pgUrl ? 4 : 1));
    if (pgUrl) {
      // the witness runs inside the PostgreSQL store's release transaction (once per record across instances)
      const pgdb = new PgCentralDb(this.opts.db, { max: consumers + 2, witness: { now: this.now, log: this.log } });
      await pgdb.init();
      this.db = pgdb;
    } else {
      const sqlite = new CentralDb(this.opts.db);
      this.db = sqlite;
      this.witness = new Witness(sqlite.db, this.now, this.log);
    }
    const group = this.opts.group ?? 'central';
    const clientId = this.opts.clientId ?? `central-${randomUUID().slice(0, 8)}`;
    this.host = (this.opts.host ?? clientId).replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
    const stateTopic = centralStateTopic(this.opts.prefix, this.host);
    const state = (online: boolean) => JSON.stringify({ v: 1, host: this.host, online, at: this.now(), contract: CONTRACT_MINOR } satisfies CentralStateMsg);
    const shared = (f: string) => (group ? `$share/${group}/${f}` : f);
    const client = mqtt.connect(this.opts.url, {
      clientId,
      // the primary-host pattern of Sparkplug B: a retained state, and a will that says offline
      will: { topic: stateTopic, payload: Buffer.from(state(false)), qos: 1, retain: true },
      // clean sessions for shared consumers (docs/mqtt-contract.md): a persistent member that is away
      // still takes its share into a queue; the box's ack timeout covers messages lost in flight
      clean: true,
      protocolVersion: group ? 5 : 4,
      reconnectPeriod: 1000,
      keepalive: 30,
      ...this.opts.mqtt,
    });
    this.client = client;
    // why override: PUBACK goes to the broker only when this callback runs, i.e. after commit
    // (mqtt.js handles one packet at a time and waits for cb: hence several consumers)
    const handle: MqttClient['handleMessage'] = (packet, cb) => {
      this.onMessage(packet.topic, packet.payload as Buffer).then(
        () => cb(),
        (err: unknown) => {
          // not stored, so no ack: the box resends after its ack timeout
          this.log.error({ err: (err as Error).message, topic: packet.topic }, 'message handling failed');
          cb();
        },
      );
    };
    client.handleMessage = handle;
    for (let k = 1; k < consumers; k++) {
      const c = mqtt.connect(this.opts.url, { clientId: `${clientId}-${k}`, clean: true, protocolVersion: 5, reconnectPeriod: 1000, keepalive: 30, ...this.opts.mqtt });
      c.handleMessage = handle;
      c.on('connect', () => c.subscribe(shared(allBoxes(this.opts.prefix, 'events')), { qos: 1 }));
      c.on('error', (err) => this.log.warn({ err: err.message, consumer: k }, 'mqtt error'));
      this.extra.push(c);
    }
    client.on('connect', () => {
      client.publish(stateTopic, state(true), { qos: 1, retain: true });
      client.subscribe(
        [
          { topic: shared(allBoxes(this.opts.prefix, 'events')), qos: 1 },
          { topic: shared(allBoxes(this.opts.prefix, 'reply')), qos: 1 },
          // status is not shared: every receiver keeps the liveness of every box
          { topic: allBoxes(this.opts.prefix, 'status'), qos: 1 },
        ].reduce((acc, s) => ({ ...acc, [s.topic]: { qos: s.qos } }), {}),
        (err) => (err ? this.log.error({ err: err.message }, 'subscribe failed') : this.log.info({ group }, 'receiving')),
      );
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'mqtt error'));
    this.timer = setInterval(() => this.askForGaps(), 500);
    await new Promise<void>((resolve, reject) => {
      const to = setTimeout(() => resolve(), 10_000); // not connected yet: keep retrying in background
      client.once('connect', () => {
        clearTimeout(to);
        resolve();
      });
      client.once('error', (e) => {
        if (!client.connected && (e as { code?: unknown }).code === undefined) {
          clearTimeout(to);
          reject(e);
        }
      });
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const client = this.client;
    if (client) {
      // a clean stop says so (the will is not sent after a DISCONNECT)
      if (client.connected) {
        await new Promise<void>((resolve) => {
          client.publish(
            centralStateTopic(this.opts.prefix, this.host),
            JSON.stringify({ v: 1, host: this.host, online: false, at: this.now(), contract: CONTRACT_MINOR }),
            { qos: 1, retain: true },
            () => resolve(),
          );
          setTimeout(resolve, 2000).unref();
        });
      }
      const graceful = client.endAsync().catch(() => undefined);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
      if ((await Promise.race([graceful, timer])) === 'timeout') await client.endAsync(true).catch(() => undefined);
    }
    this.client = undefined;
    await Promise.all(this.extra.map((c) => c.endAsync().catch(() => undefined)));
    this.extra = [];
    await this.gapCheck;
    await this.db?.close();
    this.db = undefined;
  }

  /** Ask a box to resend from a sequence (also used by the CLI and tests). */
  requestResend(box: string, from: number): void {
    const cmd: CommandMsg = { v: 1, id: randomUUID(), cmd: 'resend', from };
    this.stats.resendAsks++;
    this.log.info({ box, from }, 'asking for resend');
    this.client?.publish(topics(this.opts.prefix, box).cmd, JSON.stringify(cmd), { qos: 1 });
  }

  /**
   * Ask a box to push a camera live to the province's media server (contract v1.1 `live`): the
   * box pushes to its own configured ingest base + `/key`, for `seconds` at most. Returns the
   * command id, which the box's replies and its `inspection` records carry.
   */
  requestLive(box: string, camera: string, key: string, seconds?: number): string {
    const cmd: CommandMsg = { v: 1, id: randomUUID(), cmd: 'live', camera, key, ...(seconds ? { seconds } : {}) };
    this.log.info({ box, camera, inspection: cmd.id, seconds }, 'live inspection requested');
    this.client?.publish(topics(this.opts.prefix, box).cmd, JSON.stringify(cmd), { qos: 1 });
    return cmd.id;
  }

  /**
   * Ask a box for a recorded range (contract v1.1 `clip`, playback on request): it uploads the
   * clip and its manifest to its configured upload endpoint with the token made here.
   */
  requestClip(box: string, camera: string, from: number, to: number): string {
    if (!this.opts.clipSecret) throw new Error("requestClip needs ReceiverOptions.clipSecret (the clip intake's secret)");
    const id = randomUUID();
    const cmd: CommandMsg = { v: 1, id, cmd: 'clip', camera, from, to, token: clipToken(this.opts.clipSecret, id, box) };
    this.log.info({ box, camera, request: id, from, to }, 'clip requested');
    this.client?.publish(topics(this.opts.prefix, box).cmd, JSON.stringify(cmd), { qos: 1 });
    return id;
  }

  stopLive(box: string, inspection: string): void {
    const cmd: CommandMsg = { v: 1, id: randomUUID(), cmd: 'live-stop', inspection };
    this.client?.publish(topics(this.opts.prefix, box).cmd, JSON.stringify(cmd), { qos: 1 });
  }

  private onReplyMsg(box: string, payload: Buffer): void {
    const r = parseMessage<ReplyMsg>(validators().reply, payload);
    if (!r.ok || r.value.box !== box) {
      this.log.warn({ box, issues: r.ok ? [] : r.issues.slice(0, 5) }, 'reply refused');
      return;
    }
    this.log.info({ box, id: r.value.id, cmd: r.value.cmd, ok: r.value.ok, state: r.value.state, message: r.value.message?.slice(0, 300) }, 'reply');
    this.opts.onReply?.(box, r.value);
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    const t = parseTopic(this.opts.prefix, topic);
    if (!t) return;
    if (t.kind === 'events') await this.onBatch(t.box, payload);
    else if (t.kind === 'status') await this.onStatus(t.box, payload);
    else if (t.kind === 'reply') this.onReplyMsg(t.box, payload);
  }

  private async onBatch(box: string, payload: Buffer): Promise<void> {
    const r = parseMessage<BatchMsg>(validators().batch, payload);
    if (!r.ok || r.value.box !== box) {
      // no ack: the box keeps the records and resends; a human must look at this log line
      this.stats.refused++;
      this.log.error({ box, issues: r.ok ? [{ path: 'box', message: `payload box ${r.value.box} on topic of ${box}` }] : r.issues.slice(0, 10) }, 'batch refused');
      return;
    }
    const b = r.value;
    const check = (rec: WireRecord, joined = false) => {
      // a record joined from parts never passed the envelope's checks (no face data at any depth)
      const envelope = !joined || validators().record(rec) ? [] : issuesOf(validators().record.errors);
      const issues = [...envelope, ...checkRecordData(rec.type, rec.data)];
      return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    };
    // rows are always released: the witness checks each box's checkpoints in the box's own order
    const res = await this.db!.storeBatch(box, b.floor, b.records, this.now(), check, true);
    for (const rec of res.released) this.witnessRecord(box, rec.seq, rec.type, rec.data, rec.valid, false);
    for (const rec of res.conflicted ?? []) this.witnessRecord(box, rec.seq, rec.type, rec.data, !check(rec), true);
    this.stats.batches++;
    this.stats.records += b.records.length;
    this.stats.fresh += res.fresh;
    this.stats.duplicates += res.duplicates;
    this.stats.invalid += res.invalid;
    if (res.invalid) this.log.warn({ box, batch: b.batch, invalid: res.invalid }, 'records with invalid data stored for review');
    if (res.conflicts) this.log.error({ box, batch: b.batch, conflicts: res.conflicts }, 'sequence reused by a different record (box database replaced?)');
    // committed: now, and only now, the ack
    const ack: AckMsg = { v: 1, box, batch: b.batch, ranges: toRanges(res.committed), at: this.now() };
    this.client?.publish(topics(this.opts.prefix, box).ack, JSON.stringify(ack), { qos: 1 });
    if (this.opts.onRecord) for (const rec of res.released) this.opts.onRecord(rec);
  }

  private witnessRecord(box: string, seq: number, type: string, data: unknown, valid: boolean, conflict: boolean): void {
    if (!this.witness || !valid || (type !== 'checkpoint' && type !== 'log-key')) return;
    try {
      if (type === 'log-key' && !conflict) this.witness!.onKey(box, seq, data as LogKeyRecord);
      else if (type === 'checkpoint') this.witness!.onCheckpoint(box, seq, data as CheckpointRecord, conflict);
    } catch (err) {
      this.log.error({ box, seq, err: (err as Error).message }, 'witness check failed');
    }
  }

  private async onStatus(box: string, payload: Buffer): Promise<void> {
    if (!payload.length) return; // retained status cleared
    const r = parseMessage<StatusMsg>(validators().status, payload);
    if (!r.ok || r.value.box !== box) {
      this.log.warn({ box, issues: r.ok ? [] : r.issues.slice(0, 5) }, 'status refused');
      return;
    }
    const s = r.value;
    const applied = await this.db!.setStatus(box, s.state, s.session, s.at, this.now(), { contract: s.contract, agentVersion: s.agentVersion, backlog: s.backlog });
    if (!applied) this.log.info({ box, state: s.state, session: s.session }, 'stale status ignored (late will)');
  }

  private askForGaps(): void {
    const db = this.db;
    if (!db || !this.client?.connected || this.gapCheck) return;
    this.gapCheck = (async () => {
      try {
        for (const g of await db.claimGaps(this.now(), this.opts.reorderTimeoutMs ?? 5000)) this.requestResend(g.box, g.from);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'gap check failed');
      } finally {
        this.gapCheck = undefined;
      }
    })();
  }
}
