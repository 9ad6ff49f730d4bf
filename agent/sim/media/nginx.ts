import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../broker.js';

/** Where Debian's libnginx-mod-rtmp puts the module. */
export const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
const NGINX = '/usr/sbin/nginx';

/**
 * A real media server for the tests and the demo of remote inspection: Debian's nginx with the
 * RTMP module, taking pushes on rtmp://127.0.0.1:<rtmpPort>/live/<key> and serving them as HLS
 * (MPEG-TS, 1 s fragments) on http://127.0.0.1:<httpPort>/hls/<key>.m3u8. Production provinces
 * run MediaMTX, SRS or ZLMediaKit (docs/inspection.md); they take the same RTMP push.
 */
export class NginxRtmp {
  rtmpPort = 0;
  httpPort = 0;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-nginx-'));
  private child?: ChildProcess;

  /** One sentence naming what is missing and the Debian package that brings it, or undefined. */
  static missing(): string | undefined {
    if (!fs.existsSync(NGINX)) return 'nginx is not installed: apt-get install nginx-light (scripts/install-deps.sh --with-test-tools)';
    if (!fs.existsSync(RTMP_MODULE)) return `the nginx RTMP module is missing (${RTMP_MODULE}): apt-get install libnginx-mod-rtmp (scripts/install-deps.sh --with-test-tools)`;
    return undefined;
  }

  get ingest(): string {
    return `rtmp://127.0.0.1:${this.rtmpPort}/live`;
  }

  playlist(key: string): string {
    return `http://127.0.0.1:${this.httpPort}/hls/${key}.m3u8`;
  }

  async start(): Promise<this> {
    const missing = NginxRtmp.missing();
    if (missing) throw new Error(missing);
    this.rtmpPort = await freePort();
    this.httpPort = await freePort();
    const d = this.dir;
    fs.mkdirSync(path.join(d, 'hls'));
    fs.mkdirSync(path.join(d, 'tmp'));
    // master_process off: one process the test owns and kills; nothing runs as another user
    fs.writeFileSync(
      path.join(d, 'nginx.conf'),
      `load_module ${RTMP_MODULE};
daemon off;
master_process off;
pid ${d}/nginx.pid;
error_log ${d}/error.log info;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:${this.rtmpPort};
    application live { live on; hls on; hls_path ${d}/hls; hls_fragment 1s; hls_playlist_length 6s; }
  }
}
http {
  access_log off;
  client_body_temp_path ${d}/tmp/body; proxy_temp_path ${d}/tmp/proxy; fastcgi_temp_path ${d}/tmp/fcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi; scgi_temp_path ${d}/tmp/scgi;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; text/html html; application/javascript js; }
  server {
    listen 127.0.0.1:${this.httpPort};
    location / { root ${d}; add_header Cache-Control no-cache always; add_header Access-Control-Allow-Origin * always; }
  }
}
`,
    );
    const child = spawn(NGINX, ['-p', d, '-c', path.join(d, 'nginx.conf'), '-e', path.join(d, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    // ready when both ports accept connections
    const t0 = Date.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${err || fs.readFileSync(path.join(d, 'error.log'), 'utf8').slice(-1000)}`);
      const up = await Promise.all([this.rtmpPort, this.httpPort].map((p) => canConnect(p)));
      if (up.every(Boolean)) return this;
      if (Date.now() - t0 > 10_000) throw new Error(`nginx did not listen within 10 s: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Serve a file of the test (a page, a script) from the server's root. */
  serve(name: string, body: string | Buffer): string {
    fs.writeFileSync(path.join(this.dir, name), body);
    return `http://127.0.0.1:${this.httpPort}/${name}`;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null) {
      c.kill('SIGQUIT');
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          c.kill('SIGKILL');
          r();
        }, 3000);
        c.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function canConnect(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
