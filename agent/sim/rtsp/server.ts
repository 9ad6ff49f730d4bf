import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { MissingToolError } from '../../core/preflight.js';

/**
 * Starts and stops the GStreamer RTSP server (rtsp_server.py) with Debian's /usr/bin/python3,
 * which has python3-gi. The script is looked up beside this file, then in the source tree,
 * because tsc does not copy .py files into dist/.
 */
export interface RtspServerOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** frames between keyframes */
  keyint?: number;
  bitrateKbps?: number;
  /** of the test pattern (default h264 baseline) */
  codec?: 'h264' | 'h265';
  profile?: 'baseline' | 'main' | 'high';
  file?: string;
  /** printf pattern of JPEG frames looped one per second (the demo's classroom) */
  images?: string;
  port?: number;
  /** the path served (default /cam; a Hikvision-like sub stream uses /Streaming/Channels/102) */
  mount?: string;
  python?: string;
  /** environment of the server process (tests point GStreamer at another plugin folder) */
  env?: NodeJS.ProcessEnv;
}

function scriptPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'rtsp_server.py'), path.join(PACKAGE_ROOT, 'agent', 'sim', 'rtsp', 'rtsp_server.py')];
  const hit = candidates.find((p) => fs.existsSync(p));
  if (!hit) throw new Error(`rtsp_server.py not found (looked in ${candidates.join(', ')})`);
  return hit;
}

export class RtspServer {
  port = 0;
  private child?: ChildProcess;
  constructor(private opts: RtspServerOptions = {}) {}

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}${this.opts.mount ?? '/cam'}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    const o = this.opts;
    const args = [scriptPath(), '--port', String(o.port ?? 0)];
    if (o.mount) args.push('--mount', o.mount);
    if (o.file) args.push('--file', o.file);
    if (o.images) args.push('--images', o.images);
    if (o.width) args.push('--width', String(o.width));
    if (o.height) args.push('--height', String(o.height));
    if (o.fps) args.push('--fps', String(o.fps));
    if (o.keyint) args.push('--keyint', String(o.keyint));
    if (o.bitrateKbps) args.push('--bitrate', String(o.bitrateKbps));
    if (o.codec) args.push('--codec', o.codec);
    if (o.profile) args.push('--profile', o.profile);
    const python = o.python ?? '/usr/bin/python3';
    // Debian's interpreter, not the first python3 on PATH: only it sees python3-gi
    if (!fs.existsSync(python)) throw new MissingToolError(python, 'python3');
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    this.child = child;
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-2000);
    });
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`RTSP server did not start in 15 s: ${err}`)), 15_000);
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /READY (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        // rtsp_server.py checks its Python bindings and GStreamer elements first and says which
        // Debian package is missing in one line: relay that line alone
        const missing = /^MISSING (.*)$/m.exec(err);
        reject(missing ? new Error(missing[1]) : new Error(`RTSP server exited with code ${code}: ${err}`));
      });
    });
    return this;
  }

  /** Kill the server (the camera "dies"); start() again to bring it back on a new port. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 3000).unref();
    });
  }
}
