import http from 'node:http';
import { request } from './httpc.js';

export interface ZkPunch {
  pin: string;
  /** terminal wall clock "YYYY-MM-DD HH:mm:ss" (no zone, as on the wire) */
  time: string;
  status?: number;
  verify?: number;
  /** device-side upload stamp (1-based, increasing) */
  stamp: number;
}

export interface ZkOptions {
  /** rows per ATTLOG POST */
  batch?: number;
  lineEnd?: '\r\n' | '\n';
  /** write each body in this many pieces */
  chunks?: number;
  /** append a NUL after the body (seen on some firmware) */
  trailingNul?: boolean;
}

/**
 * A ZKTeco PUSH terminal: it starts every exchange, as real ones do. It keeps its punches with
 * increasing stamps; the handshake tells it the server's ATTLOGStamp and it uploads only what is
 * newer. Offline, it keeps punching and uploads after coming back.
 */
export class ZkDevice {
  readonly punches: ZkPunch[] = [];
  /** highest stamp the terminal believes the server has */
  cursor = 0;
  online = true;
  private agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    public baseUrl: string,
    readonly sn: string,
    private opts: ZkOptions = {},
  ) {}

  punch(pin: string, time: string, verify = 15): ZkPunch {
    const p = { pin, time, status: 0, verify, stamp: this.punches.length + 1 };
    this.punches.push(p);
    return p;
  }

  /** GET /iclock/cdata?options=all: returns the handshake text; adopts the server's stamp. */
  async handshake(): Promise<string> {
    const r = await request(`${this.baseUrl}/iclock/cdata?SN=${this.sn}&options=all&pushver=2.4.1&language=83`, { agent: this.agent });
    if (r.status !== 200) throw new Error(`handshake ${r.status}`);
    const m = /^ATTLOGStamp=(\S+)/m.exec(r.body);
    this.cursor = m && /^\d+$/.test(m[1]) ? Number(m[1]) : 0;
    return r.body;
  }

  async poll(): Promise<string> {
    return (await request(`${this.baseUrl}/iclock/getrequest?SN=${this.sn}`, { agent: this.agent })).body;
  }

  rows(ps: ZkPunch[]): string {
    const le = this.opts.lineEnd ?? '\r\n';
    return ps.map((p) => `${p.pin}\t${p.time}\t${p.status ?? 0}\t${p.verify ?? 15}\t0\t0${le}`).join('') + (this.opts.trailingNul ? '\0' : '');
  }

  /** POST one ATTLOG body as is (for duplicates and garbage). */
  async post(body: string | Buffer, stamp?: number, table = 'ATTLOG') {
    return request(`${this.baseUrl}/iclock/cdata?SN=${this.sn}&table=${table}${stamp !== undefined ? `&Stamp=${stamp}` : ''}`, {
      body,
      headers: { 'content-type': 'text/plain' },
      chunks: this.opts.chunks,
      agent: this.agent,
    });
  }

  /** Upload everything after the cursor, batch by batch; stops at the first failure (kept for later). */
  async sync(): Promise<{ sent: number; acked: number }> {
    if (!this.online) return { sent: 0, acked: 0 };
    const batch = this.opts.batch ?? 50;
    let sent = 0;
    let acked = 0;
    for (;;) {
      const todo = this.punches.filter((p) => p.stamp > this.cursor).slice(0, batch);
      if (!todo.length) break;
      sent += todo.length;
      const r = await this.post(this.rows(todo), todo[todo.length - 1].stamp);
      if (r.status !== 200 || !r.body.startsWith('OK')) break;
      this.cursor = todo[todo.length - 1].stamp;
      acked += todo.length;
    }
    return { sent, acked };
  }

  close(): void {
    this.agent.destroy();
  }
}
