import type http from 'node:http';
import type { Logger } from 'pino';
import { digestRequest } from './digest.js';
import { boundaryOf, MultipartStream, type Part } from './multipart.js';
import { Backoff } from '../core/backoff.js';

export interface StreamClientOpts {
  url: string;
  username?: string;
  password?: string;
  heartbeatTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: Logger;
  onPart(p: Part): void;
  onHeartbeat(): void;
  /** after each successful (re)connection: catch up what was missed while away */
  onConnected(): void;
  onDisconnected?(reason: string): void;
}

/**
 * A long-lived multipart event stream (Hikvision alertStream, Dahua eventManager attach).
 * Watchdog: any byte resets it; silence longer than heartbeatTimeoutMs means a stale session
 * (Hikvision sessions go stale silently after hours), so the connection is dropped and made
 * again. Reconnects back off exponentially with jitter, reset once data flows.
 */
export class StreamClient {
  private req?: http.ClientRequest;
  private res?: http.IncomingMessage;
  private watchdog?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private backoff: Backoff;
  private stopped = true;
  connected = false;
  connects = 0;
  /** bumped per connection attempt: late events of an old connection must not drop the new one */
  private gen = 0;

  constructor(private o: StreamClientOpts) {
    this.backoff = new Backoff(o.reconnectMinMs, o.reconnectMaxMs);
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.gen++;
    clearTimeout(this.retry);
    clearTimeout(this.watchdog);
    this.res?.destroy();
    this.req?.destroy();
  }

  private arm(): void {
    clearTimeout(this.watchdog);
    const gen = this.gen;
    this.watchdog = setTimeout(() => this.drop('no data or heartbeat within timeout', gen), this.o.heartbeatTimeoutMs);
  }

  private drop(reason: string, gen = this.gen): void {
    if (this.stopped || gen !== this.gen) return;
    this.gen++;
    clearTimeout(this.watchdog);
    this.res?.destroy();
    this.req?.destroy();
    this.res = undefined;
    this.req = undefined;
    if (this.connected) this.o.onDisconnected?.(reason);
    this.connected = false;
    clearTimeout(this.retry);
    const wait = this.backoff.next();
    // a quiet stream on firmware without heartbeats is re-armed routinely: not worth a warning each time
    if (reason.startsWith('no data')) this.o.log.info({ reason, retryMs: wait }, 'event stream silent, re-arming');
    else this.o.log.warn({ reason, retryMs: wait }, 'event stream down, reconnecting');
    this.retry = setTimeout(() => this.connect(), wait);
  }

  private connect(): void {
    if (this.stopped) return;
    const gen = ++this.gen;
    this.arm();
    digestRequest(this.o.url, { username: this.o.username, password: this.o.password, timeoutMs: this.o.heartbeatTimeoutMs, headers: { accept: 'multipart/*' } }, (r) => (this.req = r))
      .then((res) => {
        if (this.stopped || gen !== this.gen) return void res.destroy();
        this.res = res;
        const boundary = boundaryOf(res.headers['content-type']);
        if (res.statusCode !== 200 || !boundary) {
          res.resume();
          return this.drop(`HTTP ${res.statusCode} ${res.headers['content-type'] ?? ''}`, gen);
        }
        this.connected = true;
        this.connects++;
        this.arm();
        const mp = new MultipartStream(boundary, {
          part: (p) => this.o.onPart(p),
          heartbeat: () => this.o.onHeartbeat(),
          garbage: (n) => this.o.log.debug({ bytes: n }, 'bytes outside parts skipped'),
        });
        res.on('data', (d: Buffer) => {
          this.arm();
          this.backoff.reset();
          try {
            mp.push(d);
          } catch (err) {
            this.o.log.error({ err: (err as Error).message }, 'stream parser failed');
            this.drop('parser failure', gen);
          }
        });
        res.on('end', () => this.drop('stream ended', gen));
        res.on('error', (e) => this.drop(e.message, gen));
        this.o.onConnected();
      })
      .catch((e: Error) => this.drop(e.message, gen));
  }
}
