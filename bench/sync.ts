import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import YAML from 'yaml';
import type { Bench } from './index.js';
import { CentralDb } from '../agent/central/db.js';
import { PACKAGE_ROOT } from '../agent/core/paths.js';
import { Outbox } from '../agent/store/outbox.js';
import { SyncClient } from '../agent/sync/client.js';
import { hasMosquitto, Mosquitto } from '../agent/sync/mosquitto-kit.js';
import { agentContext, startAedes, tempDir } from '../agent/sync/testkit.js';

/**
 * Durable records per second end to end (outbox → broker → receiver commit → ack → settled),
 * beside bare mqtt.js QoS 1 publishes of the same record payloads to the same broker in the same
 * run. The receiver is the `classroom-agent central` CLI in its own process (as in production,
 * where it is another machine). SYNC_BENCH_N sets the record count (default 20000).
 */
const N = Number(process.env.SYNC_BENCH_N ?? 20_000);
const TARGET = 2000;

function recordJson(i: number): string {
  const t = 1_760_000_000_000 + i * 60_000;
  return JSON.stringify({ id: i + 1, camera: 'cam-1', start: t, end: t + 60_000, bytes: 12_345_678, sha256: 'ab'.repeat(32), recovered: false });
}

/**
 * Bare mqtt.js: QoS 1 publishes with 1000 awaiting PUBACK, timed until the last PUBACK. A plain
 * subscriber takes them too; how many it got is printed, because a broker may PUBACK and then
 * drop (Mosquitto: max_queued_messages 1000 per client) — exactly why PUBACK is not delivery.
 */
async function bareQos1(url: string, payloads: string[]): Promise<{ rate: number; received: number }> {
  const sub = await mqtt.connectAsync(url, { clientId: `bench-sub-${process.pid}` });
  let got = 0;
  sub.on('message', () => got++);
  await sub.subscribeAsync('bench/bare/#', { qos: 1 });
  const pub = await mqtt.connectAsync(url, { clientId: `bench-pub-${process.pid}` });
  const t0 = performance.now();
  const WINDOW = 1000;
  let next = 0;
  let acked = 0;
  await new Promise<void>((resolve, reject) => {
    const one = () => {
      if (next >= payloads.length) return;
      const i = next++;
      pub.publish(`bench/bare/${i % 8}`, payloads[i]!, { qos: 1 }, (err) => {
        if (err) return reject(err);
        if (++acked === payloads.length) resolve();
        else one();
      });
    };
    for (let k = 0; k < WINDOW; k++) one();
  });
  const secs = (performance.now() - t0) / 1000;
  // let the subscriber catch up for a moment, then count what it really got
  for (let i = 0; i < 40 && got < payloads.length; i++) await new Promise((r) => setTimeout(r, 50));
  await pub.endAsync();
  await sub.endAsync(true);
  return { rate: payloads.length / secs, received: got };
}

async function startReceiver(dir: string, url: string, group: string): Promise<() => Promise<void>> {
  const cfgFile = path.join(dir, 'central.yaml');
  fs.writeFileSync(cfgFile, YAML.stringify({ paths: { state: dir }, sync: { url } }));
  const cli = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
  const p = spawn(process.execPath, [cli, '--config', cfgFile, '--lang', 'en', 'central', '--group', group], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    p.stderr!.on('data', (d) => {
      err += String(d);
      if (err.includes('Receiver running')) resolve();
    });
    p.once('exit', (c) => reject(new Error(`receiver exited ${c}: ${err}`)));
  });
  return async () => {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  };
}

export const syncBench: Bench = {
  name: 'sync',
  title: 'durable records/s end to end (outbox → broker → receiver commit → ack → settled) vs bare mqtt.js QoS 1',
  async run() {
    const dir = tempDir('bench-sync');
    let url: string;
    let stopBroker: () => Promise<void>;
    if (hasMosquitto()) {
      const m = new Mosquitto({ dir });
      await m.start();
      url = m.url;
      stopBroker = () => m.stop();
    } else {
      const a = await startAedes();
      url = a.url;
      stopBroker = () => a.close();
    }
    const broker = hasMosquitto() ? 'mosquitto' : 'aedes';
    try {
      const payloads = Array.from({ length: N }, (_, i) => recordJson(i));
      const bare = await bareQos1(url, payloads);

      const ctx = agentContext(dir, { url, batchSize: 500, maxInFlight: 8, ackTimeoutMs: 30_000 }, 'bench-box');
      const ob = new Outbox(ctx.store);
      ctx.store.tx(() => {
        for (let i = 0; i < N; i++) ob.enqueue('segment', 1_760_000_000_000 + i * 60_000, JSON.parse(payloads[i]!));
      });
      const stopReceiver = await startReceiver(dir, url, broker === 'mosquitto' ? 'central' : '');
      const client = new SyncClient(ctx);
      const t0 = performance.now();
      await client.start();
      while (ob.backlog().count > 0) await new Promise((r) => setTimeout(r, 20));
      const e2e = N / ((performance.now() - t0) / 1000);
      await client.stop();
      await stopReceiver();
      const central = new CentralDb(path.join(dir, 'central.db'));
      const stored = central.count('bench-box');
      central.close();
      ctx.store.close();
      console.log(`  broker: ${broker}, ${N} records of ${payloads[0]!.length} B, batches of 500, 8 in flight, synchronous=FULL on both databases`);
      console.log(`  bare mqtt.js QoS 1 publishes (until the last PUBACK): ${Math.round(bare.rate)} msg/s; a plain subscriber received ${bare.received} of ${N}`);
      console.log(`  durable end to end (settled on central's ack after its commit):         ${Math.round(e2e)} records/s`);
      console.log(`  ratio durable / bare: ${(e2e / bare.rate).toFixed(2)}   target ≥ ${TARGET} records/s: ${e2e >= TARGET ? 'MET' : 'NOT MET'}`);
      console.log(`  receiver stored ${stored} of ${N} records (each once)`);
    } finally {
      await stopBroker();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
