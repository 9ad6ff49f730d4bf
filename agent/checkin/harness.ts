import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckinServer } from './server.js';
import { standaloneContext } from './standalone.js';
import type { AgentContext } from '../core/context.js';
import { initLogging } from '../core/log.js';

// tests and the bench: warnings and errors only, unless LOG_LEVEL asks for more
if (!process.env.LOG_LEVEL) initLogging({ level: 'warn' });

/** A check-in server on 127.0.0.1 (port 0 unless given) over a real SQLite file, for tests and the bench. */
export async function startCheckin(cfg: Record<string, unknown> = {}, opts: { dir?: string; port?: number; now?: () => number } = {}) {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ca-checkin-'));
  const db = path.join(dir, 'evidence.db');
  const ctx: AgentContext = standaloneContext(db, { ...cfg, checkin: { ...((cfg.checkin as object) ?? {}), listen: { host: '127.0.0.1', port: opts.port ?? 0 } } }, opts.now);
  const server = new CheckinServer(ctx);
  await server.start();
  const port = server.address()!.port;
  return {
    ctx,
    server,
    dir,
    db,
    port,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      await server.stop();
      ctx.store.close();
    },
  };
}
