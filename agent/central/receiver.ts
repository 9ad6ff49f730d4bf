import { randomUUID } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { logger } from '../core/log.js';
import { allBoxes, parseTopic, toRanges, topics, type AckMsg, type BatchMsg, type CommandMsg, type StatusMsg, type WireRecord } from '../sync/contract.js';
import { checkRecordData, parseMessage, validators } from '../sync/schemas.js';
import { CentralDb, type StoredRecord } from './db.js';
import { Witness, type LogKeyRecord } from './witness.js';
import type { CheckpointRecord } from '../evidence/verifier.js';

export interface ReceiverOptions {
  url: string;
  prefix: string;
  /** database file of the receiver (its own, never the box's) */
  db: string;
  /**
   * shared-subscription group: `$share/<group>/...` lets several receivers split the load.
   * Empty for brokers without shared subscriptions (aedes).
   */
  group?: string;
  clientId?: string;
  mqtt?: Partial<IClientOptions>;
  /** how long a hole in a box's sequence may last before asking for a resend */
  reorderTimeoutMs?: number;
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
  private db?: CentralDb;
  private witness?: Witness;
  private log: Logger;
  private timer?: NodeJS.Timeout;
  private now: () => number;
  readonly stats = { batches: 0, records: 0, fresh: 0, duplicates: 0, invalid: 0, refused: 0, resendAsks: 0 };

  constructor(private opts: ReceiverOptions) {
    this.log = opts.log ?? logger('central');
    this.now = opts.now ?? Date.now;
  }

  get witnessOf(): Witness {
    if (!this.witness) throw new Error('receiver not started');
    return this.witness;
  }

  get database(): CentralDb {
    if (!this.db) throw new Error('receiver not started');
    return this.db;
  }

  async start(): Promise<void> {
    validators();
    this.db = new CentralDb(this.opts.db);
    this.witness = new Witness(this.db.db, this.now, this.log);
    const group = this.opts.group ?? 'central';
    const shared = (f: string) => (group ? `$share/${group}/${f}` : f);
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.clientId ?? `central-${randomUUID().slice(0, 8)}`,
      // clean sessions for shared consumers (notes/sync.md §6): a persistent member that is away
      // still takes its share into a queue; the box's ack timeout covers messages lost in flight
      clean: true,
      protocolVersion: group ? 5 : 4,
      reconnectPeriod: 1000,
      keepalive: 30,
      ...this.opts.mqtt,
    });
    this.client = client;
    // why override: PUBACK goes to the broker only when this callback runs, i.e. after commit
    client.handleMessage = (packet, cb) => {
      try {
        this.onMessage(packet.topic, packet.payload as Buffer);
      } catch (err) {
        this.log.error({ err: (err as Error).message, topic: packet.topic }, 'message handling failed');
      }
      cb();
    };
    client.on('connect', () => {
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
      const graceful = client.endAsync().catch(() => undefined);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
      if ((await Promise.race([graceful, timer])) === 'timeout') await client.endAsync(true).catch(() => undefined);
    }
    this.client = undefined;
    this.db?.close();
    this.db = undefined;
  }

  /** Ask a box to resend from a sequence (also used by the CLI and tests). */
  requestResend(box: string, from: number): void {
    const cmd: CommandMsg = { v: 1, id: randomUUID(), cmd: 'resend', from };
    this.stats.resendAsks++;
    this.log.info({ box, from }, 'asking for resend');
    this.client?.publish(topics(this.opts.prefix, box).cmd, JSON.stringify(cmd), { qos: 1 });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = parseTopic(this.opts.prefix, topic);
    if (!t) return;
    if (t.kind === 'events') this.onBatch(t.box, payload);
    else if (t.kind === 'status') this.onStatus(t.box, payload);
    else if (t.kind === 'reply') this.log.info({ box: t.box, reply: payload.toString().slice(0, 500) }, 'reply');
  }

  private onBatch(box: string, payload: Buffer): void {
    const r = parseMessage<BatchMsg>(validators().batch, payload);
    if (!r.ok || r.value.box !== box) {
      // no ack: the box keeps the records and resends; a human must look at this log line
      this.stats.refused++;
      this.log.error({ box, issues: r.ok ? [{ path: 'box', message: `payload box ${r.value.box} on topic of ${box}` }] : r.issues.slice(0, 10) }, 'batch refused');
      return;
    }
    const b = r.value;
    const check = (rec: WireRecord) => {
      const issues = checkRecordData(rec.type, rec.data);
      return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    };
    // rows are always released: the witness checks each box's checkpoints in the box's own order
    const res = this.db!.storeBatch(box, b.floor, b.records, this.now(), check, true);
    for (const rec of res.released) this.witnessRecord(box, rec.seq, rec.type, rec.data, rec.valid, false);
    for (const rec of res.conflicted) this.witnessRecord(box, rec.seq, rec.type, rec.data, !check(rec), true);
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
    if (!valid || (type !== 'checkpoint' && type !== 'log-key')) return;
    try {
      if (type === 'log-key' && !conflict) this.witness!.onKey(box, seq, data as LogKeyRecord);
      else if (type === 'checkpoint') this.witness!.onCheckpoint(box, seq, data as CheckpointRecord, conflict);
    } catch (err) {
      this.log.error({ box, seq, err: (err as Error).message }, 'witness check failed');
    }
  }

  private onStatus(box: string, payload: Buffer): void {
    if (!payload.length) return; // retained status cleared
    const r = parseMessage<StatusMsg>(validators().status, payload);
    if (!r.ok || r.value.box !== box) {
      this.log.warn({ box, issues: r.ok ? [] : r.issues.slice(0, 5) }, 'status refused');
      return;
    }
    const s = r.value;
    const applied = this.db!.setStatus(box, s.state, s.session, s.at, this.now());
    if (!applied) this.log.info({ box, state: s.state, session: s.session }, 'stale status ignored (late will)');
  }

  private askForGaps(): void {
    if (!this.db || !this.client?.connected) return;
    try {
      for (const g of this.db.claimGaps(this.now(), this.opts.reorderTimeoutMs ?? 5000)) this.requestResend(g.box, g.from);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'gap check failed');
    }
  }
}
