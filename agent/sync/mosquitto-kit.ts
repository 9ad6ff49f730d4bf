import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireCommand } from '../core/preflight.js';
import { canConnect } from '../sim/port.js';
import { freePort } from './testkit.js';

/**
 * A real Mosquitto for integration tests and benches: own config, 127.0.0.1, a free port,
 * stopped and restarted by the caller. TLS material is made with openssl at setup time.
 */
export const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export function hasMosquitto(): boolean {
  return fs.existsSync(MOSQUITTO);
}

export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  /** client certificate and key per common name */
  clients: Record<string, { cert: string; key: string }>;
}

/** A test CA, a server certificate for 127.0.0.1 and one client certificate per CN. */
export function makeCerts(dir: string, clientCns: string[], caName = 'ca'): TlsFiles {
  fs.mkdirSync(dir, { recursive: true });
  const openssl = requireCommand('openssl');
  const ossl = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', `${caName}.key`, '-out', `${caName}.crt`, '-days', '2', '-subj', `/CN=classroom-test-${caName}`);
  const sign = (name: string, cn: string, ext: string) => {
    ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  sign(`${caName}-server`, '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const clients: TlsFiles['clients'] = {};
  for (const cn of clientCns) {
    sign(`${caName}-client-${cn}`, cn, 'extendedKeyUsage=clientAuth\n');
    clients[cn] = { cert: path.join(dir, `${caName}-client-${cn}.crt`), key: path.join(dir, `${caName}-client-${cn}.key`) };
  }
  return { ca: path.join(dir, `${caName}.crt`), serverCert: path.join(dir, `${caName}-server.crt`), serverKey: path.join(dir, `${caName}-server.key`), clients };
}

export interface MosquittoOptions {
  dir: string;
  port?: number;
  tls?: TlsFiles;
  /** lines of an ACL file (TLS mode: user = certificate CN) */
  acl?: string[];
  extra?: string[];
}

// brokers left running by a failing test are killed when the test process exits
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) if (p.exitCode === null) p.kill('SIGKILL');
});

export class Mosquitto {
  proc?: ChildProcess;
  port = 0;
  private conf = '';
  log = '';

  constructor(private opts: MosquittoOptions) {}

  get url(): string {
    return `${this.opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = this.opts.port ?? (await freePort());
    const o = this.opts;
    // why `user`: mosquitto started as root drops to user mosquitto, which cannot read a 0700 temp dir
    const lines = [`listener ${this.port} 127.0.0.1`, `user ${os.userInfo().username}`, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning'];
    if (o.tls) {
      lines.push(`cafile ${o.tls.ca}`, `certfile ${o.tls.serverCert}`, `keyfile ${o.tls.serverKey}`, 'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false');
    } else {
      lines.push('allow_anonymous true');
    }
    if (o.acl) {
      const aclFile = path.join(o.dir, `acl-${this.port}`);
      fs.writeFileSync(aclFile, `${o.acl.join('\n')}\n`);
      lines.push(`acl_file ${aclFile}`);
    }
    lines.push(...(o.extra ?? []));
    this.conf = path.join(o.dir, `mosquitto-${this.port}.conf`);
    fs.writeFileSync(this.conf, `${lines.join('\n')}\n`);
    const proc = spawn(requireCommand(MOSQUITTO), ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d) => (this.log += String(d)));
    this.proc = proc;
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const t0 = Date.now();
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${this.log}`);
      if (await canConnect(this.port)) return;
      if (Date.now() - t0 > 10_000) throw new Error(`mosquitto did not listen: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }
}

/** Build dist/ when it is older than the sources (child processes run the compiled CLI). */
export function ensureBuilt(root: string): string {
  const main = path.join(root, 'dist', 'agent', 'cli', 'main.js');
  const newest = (dir: string): number => {
    let m = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) m = Math.max(m, newest(p));
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) m = Math.max(m, fs.statSync(p).mtimeMs);
    }
    return m;
  };
  const built = fs.existsSync(main) ? fs.statSync(main).mtimeMs : 0;
  if (built < newest(path.join(root, 'agent'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  return main;
}
