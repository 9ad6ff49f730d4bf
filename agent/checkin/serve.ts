/**
 * Run the check-in server alone: `node dist/agent/checkin/serve.js <db-file> '<config JSON>'`.
 * Prints {"port":N} on stdout once listening. Used by the kill -9 test and the bench, which need
 * the server in a separate process; the daemon starts CheckinServer as one of its modules.
 */
import { initLogging } from '../core/log.js';
import { CheckinServer } from './server.js';
import { standaloneContext } from './standalone.js';

const [dbFile, cfgJson] = process.argv.slice(2);
if (!dbFile) {
  process.stderr.write('usage: serve.js <db-file> [config-json]\n');
  process.exit(2);
}
initLogging({ level: process.env.LOG_LEVEL ?? 'warn', fd: 2 });
const ctx = standaloneContext(dbFile, cfgJson ? JSON.parse(cfgJson) : {});
const server = new CheckinServer(ctx);
await server.start();
process.stdout.write(`${JSON.stringify({ port: server.address()!.port })}\n`);
const stop = async () => {
  await server.stop();
  ctx.store.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
