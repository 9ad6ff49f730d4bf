import mqtt from 'mqtt';
import type { Config } from '../config/schema.js';
import { mqttOptions } from './connect.js';
import { topics, type ReplyMsg } from './contract.js';

/**
 * A one-shot broker probe for `classroom-agent doctor`: connect with the box's own credentials
 * and TLS, subscribe to the box's reply topic, publish one reply there and wait to receive it.
 * Why the reply topic: the contract has no box-initiated round trip with central (ping comes
 * from central; acks only answer real records), and the reply topic is one the broker ACL lets
 * the box both write and read (`<prefix>/<box>/#`); central ignores replies to ids it never sent.
 * No last will and its own client id, so a running daemon's session and status are untouched.
 */
export type BrokerFailure = 'dns' | 'refused' | 'tls' | 'auth' | 'timeout' | 'unreachable' | 'subscribe' | 'config' | 'other';

export interface BrokerProbe {
  ok: boolean;
  connectMs?: number;
  roundTripMs?: number;
  failure?: BrokerFailure;
  message?: string;
}

/** Name what went wrong the way a technician can act on it. */
export function classifyBrokerError(err: Error & { code?: unknown }): BrokerFailure {
  const code = String(err.code ?? '');
  const msg = err.message ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /getaddrinfo/i.test(msg)) return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (/connack timeout/i.test(msg)) return 'timeout';
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|SSL|TLS|certificate|altname/i.test(`${code} ${msg}`)) return 'tls';
  // CONNACK 4 (bad user name or password) and 5 (not authorized)
  if (code === '4' || code === '5' || /bad user ?name or password|not authori[sz]ed/i.test(msg)) return 'auth';
  return 'other';
}

export async function probeBroker(cfg: Config, opts: { timeoutMs?: number } = {}): Promise<BrokerProbe> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let options;
  try {
    options = mqttOptions(cfg.sync, `ca-${cfg.box.id}-doctor-${process.pid}`);
  } catch (err) {
    return { ok: false, failure: 'config', message: (err as Error).message };
  }
  options.connectTimeout = timeoutMs;
  const t = topics(cfg.sync.topicPrefix, cfg.box.id);
  const id = `doctor-${Date.now()}-${process.pid}`;
  const t0 = Date.now();
  const client = mqtt.connect(cfg.sync.url, options);
  try {
    return await new Promise<BrokerProbe>((resolve) => {
      let connectMs: number | undefined;
      let sentAt = 0;
      const done = (r: BrokerProbe) => {
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(
        () =>
          done({
            ok: false,
            connectMs,
            failure: 'timeout',
            message: connectMs === undefined ? `no CONNACK within ${timeoutMs / 1000} s` : `own message not received back within ${timeoutMs / 1000} s`,
          }),
        timeoutMs,
      );
      client.on('error', (err) => done({ ok: false, connectMs, failure: classifyBrokerError(err as Error & { code?: unknown }), message: err.message }));
      client.on('close', () => {
        if (connectMs === undefined) done({ ok: false, failure: 'other', message: 'connection closed before CONNACK' });
      });
      client.on('message', (topic, payload) => {
        if (topic !== t.reply) return;
        try {
          if ((JSON.parse(payload.toString()) as ReplyMsg).id === id) done({ ok: true, connectMs, roundTripMs: Date.now() - sentAt });
        } catch {
          /* someone else's reply */
        }
      });
      client.on('connect', () => {
        connectMs = Date.now() - t0;
        client.subscribe(t.reply, { qos: 1 }, (err, granted) => {
          if (err || granted?.some((g) => g.qos === 128)) {
            done({ ok: false, connectMs, failure: 'subscribe', message: err?.message ?? `subscription to ${t.reply} refused by the broker ACL` });
            return;
          }
          sentAt = Date.now();
          const msg: ReplyMsg = { v: 1, box: cfg.box.id, id, cmd: 'doctor', ok: true, message: 'doctor round trip', at: sentAt };
          client.publish(t.reply, JSON.stringify(msg), { qos: 1 }, (e) => {
            if (e) done({ ok: false, connectMs, failure: 'other', message: `publish: ${e.message}` });
          });
        });
      });
    });
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}
