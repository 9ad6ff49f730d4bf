import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './broker.js';

/** Debian's PostgreSQL server binaries (postgresql-15 on bookworm; the newest installed wins). */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const v = fs
    .readdirSync(root)
    .filter((d) => fs.existsSync(path.join(root, d, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return v ? path.join(root, v, 'bin') : undefined;
}

/**
 * A throwaway PostgreSQL cluster for the central receiver's tests and the province bench: a
 * real server (Debian's), its own data folder and port on 127.0.0.1, trust auth on loopback
 * only. As root it runs as the `postgres` user (the server refuses root).
 */
export class TestPostgres {
  port = 0;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-pg-'));
  private child?: ChildProcess;

  static missing(): string | undefined {
    return binDir() ? undefined : 'PostgreSQL server not installed: apt-get install postgresql (scripts/install-deps.sh --with-test-tools)';
  }

  url(db = 'central'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  async start(db = 'central'): Promise<this> {
    const bin = binDir();
    if (!bin) throw new Error(TestPostgres.missing());
    const asRoot = process.getuid?.() === 0;
    const data = path.join(this.dir, 'data');
    if (asRoot) spawnSync('chown', ['-R', 'postgres:postgres', this.dir]);
    // setpriv execs in place (same pid), so the signals of stop() reach the server itself
    const run = (cmd: string, args: string[]) =>
      asRoot
        ? spawn('setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const init = run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
    let out = '';
    init.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => init.on('exit', r));
    if (code !== 0) throw new Error(`initdb failed (${code}): ${out.slice(-800)}`);
    this.port = await freePort();
    this.child = run(path.join(bin, 'postgres'), ['-D', data, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200']);
    let err = '';
    this.child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    const t0 = Date.now();
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`postgres exited: ${err}`);
      const c = new pg.Client({ connectionString: this.url('postgres') });
      try {
        await c.connect();
        await c.query(`CREATE DATABASE ${db}`);
        await c.end();
        return this;
      } catch (e) {
        await c.end().catch(() => undefined);
        if (/already exists/.test((e as Error).message)) return this;
        if (Date.now() - t0 > 20_000) throw new Error(`postgres did not accept connections in 20 s: ${(e as Error).message} ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null) {
      // SIGINT: fast shutdown (aborts sessions, checkpoints)
      c.kill('SIGINT');
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          c.kill('SIGKILL');
          r();
        }, 10_000);
        c.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
