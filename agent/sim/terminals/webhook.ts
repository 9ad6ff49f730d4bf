import http from 'node:http';
import { sign } from '../../checkin/auth.js';
import { request } from './httpc.js';

export interface WebhookItem {
  id?: string;
  terminal: string;
  person: string;
  at: string;
  verifyMode?: string;
  similarity?: number;
}

/** A system calling POST /api/v1/checkins with a bearer token or an HMAC signature. */
export class WebhookClient {
  private agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  constructor(
    public baseUrl: string,
    private auth: { token?: string; hmacSecret?: string },
    private clientId = 'sim',
  ) {}

  async send(body: WebhookItem | WebhookItem[] | string | Buffer, opts: { chunks?: number } = {}) {
    const buf = typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-client-id': this.clientId };
    if (this.auth.token) headers.authorization = `Bearer ${this.auth.token}`;
    else if (this.auth.hmacSecret) headers['x-signature'] = sign(buf, this.auth.hmacSecret);
    return request(`${this.baseUrl}/api/v1/checkins`, { body: buf, headers, agent: this.agent, chunks: opts.chunks });
  }

  close(): void {
    this.agent.destroy();
  }
}
