/**
 * The Fastify variant of the check-in port's webhook, for the `edge` bench only: the same
 * admission before the body (an onRequest hook checking the bearer token), Fastify's streamed
 * bodyLimit, its connection/keep-alive/request timeouts, and the same store path (Ingest +
 * parseWebhook). Run: node edge-fastify.js <db-file> <token>. Prints {"port":N}.
 */
import Fastify from 'fastify';
import { initLogging } from '../agent/core/log.js';
import { Ingest } from '../agent/checkin/ingest.js';
import { standaloneContext } from '../agent/checkin/standalone.js';
import { parseWebhook } from '../agent/checkin/webhook/parse.js';
import { tokenOk } from '../agent/checkin/auth.js';

const [dbFile, token] = process.argv.slice(2);
initLogging({ level: 'warn', fd: 2 });
const ctx = standaloneContext(dbFile, {});
const ingest = new Ingest(ctx, 2);
const app = Fastify({ bodyLimit: 1_048_576, connectionTimeout: 15_000, keepAliveTimeout: 30_000, requestTimeout: 15_000, logger: false });
// the raw bytes, as the agent stores them: Fastify's own JSON parser would hand over an object
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.addHook('onRequest', async (req, reply) => {
  if (!tokenOk(req.raw, new URL(req.url, 'http://x'), token)) return reply.code(401).send({ error: 'unauthorised' });
});
app.post('/api/v1/checkins', async (req, reply) => {
  const body = req.body as Buffer;
  const out = await ingest.submit({
    raw: { protocol: 'webhook', terminal: null, channel: 'http', method: 'POST', path: '/api/v1/checkins', contentType: req.headers['content-type'], body, receivedMs: Date.now() },
    parse: (b) => parseWebhook(b, 'bench'),
  });
  return reply.code(200).send({ stored: out.stored.length, duplicates: out.duplicates });
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port })}\n`);
process.on('SIGTERM', async () => {
  await app.close();
  await ingest.close();
  ctx.store.close();
  process.exit(0);
});
