/**
 * The recorder alone, in the foreground: `node dist/agent/recorder/main.js CONFIG.yaml`.
 * The crash tests and the bench run this as "the agent" so that they can kill -9 it; a
 * technician can use it to test recording without the rest of the daemon.
 * SIGINT/SIGTERM stop it cleanly (segments closed and indexed, 'agent stopped' gap).
 */
import { loadConfig } from '../config/load.js';
import { createContext } from '../core/context.js';
import { logger } from '../core/log.js';
import { Recorder } from './recorder.js';

const ctx = createContext(loadConfig(process.argv[2]), { log: logger('recorder') });
const { store, bus } = ctx;
const rec = new Recorder(ctx);
// one line per indexed segment on stdout, for the bench's latency figure
bus.on(rec, 'segment.indexed', (e) => {
  const cam = rec.stats().find((c) => c.camera === e.camera);
  const latencyMs = cam?.lastIndexLatency?.path === e.path ? cam.lastIndexLatency.ms : undefined;
  process.stdout.write(`${JSON.stringify({ event: 'segment.indexed', at: Date.now(), latencyMs, ...e })}\n`);
});
bus.on(rec, 'recording.gap', (e) => process.stdout.write(`${JSON.stringify({ event: 'recording.gap', at: Date.now(), ...e })}\n`));
bus.on(rec, 'camera.status', (e) => process.stdout.write(`${JSON.stringify({ event: 'camera.status', at: Date.now(), ...e })}\n`));
await rec.start();
process.stdout.write(`${JSON.stringify({ event: 'started', at: Date.now() })}\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await rec.stop();
  store.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
