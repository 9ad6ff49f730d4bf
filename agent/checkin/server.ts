import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentContext } from '../core/context.js';
import type { Module } from '../core/module.js';
import { resolveSecret } from '../config/load.js';
import { Ingest } from './ingest.js';
import { Terminals } from './terminals.js';
import { json, send, warnLimiter, type Route, type RouteEnv } from './http.js';
import { zktecoRoute } from './zkteco/route.js';
import { webhookRoute } from './webhook/route.js';
import { TerminalHealth } from './health.js';
import { hikvisionPushRoute } from './hikvision/route.js';
import { HikvisionStreams } from './hikvision/client.js';
import { DahuaStreams } from './dahua/client.js';
import type { EventStreamTerminal } from './event-stream.js';
import { AlarmRepo } from '../store/alarms.js';
import { listenWithRetry } from '../core/listen.js';

const ROUTES: Route[] = [zktecoRoute, webhookRoute, hikvisionPushRoute];

/**
 * The check-in server: one node:http listener for every push protocol (ZKTeco /iclock, Hikvision
 * httpHosts pushes, the webhook), plus the client-side stream connections (Hikvision alertStream,
 * Dahua attach) and the terminal health watch. All inputs go through one group-commit intake.
 */
export class CheckinServer implements Module {
  readonly name = 'checkin';
  private server?: http.Server;
  private ingest?: Ingest;
  private streams = new Map<string, EventStreamTerminal>();
  private healthWatch?: TerminalHealth;
  private env?: RouteEnv;
  private cancelListen?: () => void;

  constructor(private ctx: AgentContext) {}

  /** Address actually bound (port 0 in tests). */
  address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  /** The client-side connection of a stream terminal (Hikvision alertStream, Dahua attach). */
  stream<T extends EventStreamTerminal>(terminal: string): T | undefined {
    return this.streams.get(terminal) as T | undefined;
  }

  get health(): TerminalHealth | undefined {
    return this.healthWatch;
  }

  get intake(): Ingest | undefined {
    return this.ingest;
  }

  async start(): Promise<void> {
    const { cfg } = this.ctx;
    const c = cfg.checkin;
    const log = this.ctx.log;
    this.ingest = new Ingest(this.ctx, c.batchWindowMs);
    const terminals = new Terminals(cfg.terminals);
    this.env = {
      ingest: this.ingest,
      terminals,
      log,
      token: resolveSecret(c.token, 'checkin.token'),
      hmacSecret: resolveSecret(c.hmacSecret, 'checkin.hmacSecret'),
      now: this.ctx.now,
      lastPoll: new Map(),
      warn: warnLimiter(log, this.ctx.now),
    };
    const server = http.createServer(
      {
        requestTimeout: c.requestTimeoutMs,
        headersTimeout: Math.min(c.requestTimeoutMs, 10_000),
        keepAliveTimeout: 30_000,
        // why: Node checks request timeouts only this often (default 30 s); a slow sender must not hold a socket for long
        connectionsCheckingInterval: Math.max(100, Math.min(c.requestTimeoutMs / 2, 30_000)),
      }, (req, res) =>
      this.onRequest(req, res),
    );
    server.maxHeadersCount = 100;
    server.on('clientError', (err, socket) => {
      // malformed HTTP or a timeout: answer if the socket still can, never throw
      if (socket.writable) socket.end((err as NodeJS.ErrnoException).code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.server = server;
    // a busy port is retried with backoff (and alarmed) while the terminal streams and health run
    const alarms = new AlarmRepo(this.ctx.store);
    const listening = listenWithRetry(server, {
      port: c.listen.port,
      host: c.listen.host,
      log,
      what: 'check-in server',
      onBusy: (n) => n === 1 && alarms.raise('port-in-use', `checkin:${c.listen.port}`, `check-in port ${c.listen.port} is in use by another program; retrying`, this.ctx.now()),
      onListening: () => {
        alarms.clear('port-in-use', `checkin:${c.listen.port}`, this.ctx.now());
        log.info({ listen: this.address() }, 'check-in server listening');
      },
    });
    this.cancelListen = listening.cancel;
    await listening.first;
    for (const t of terminals.ofProtocol('hikvision').filter((x) => x.url)) this.streams.set(t.id, new HikvisionStreams(this.ctx, this.ingest, t));
    for (const t of terminals.ofProtocol('dahua').filter((x) => x.url)) this.streams.set(t.id, new DahuaStreams(this.ctx, this.ingest, t));
    for (const s of this.streams.values()) s.start();
    this.healthWatch = new TerminalHealth(this.ctx, this.ingest.repo, terminals);
    this.healthWatch.start();
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const receivedMs = this.ctx.now();
    const env = this.env!;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://agent.local');
    } catch {
      return void send(res, json(400, { error: 'bad request target' }));
    }
    const route = ROUTES.find((r) => r.matches(url.pathname));
    if (!route) {
      req.resume();
      return void send(res, json(404, { error: 'no such endpoint' }));
    }
    const limit = this.ctx.cfg.checkin.maxBodyBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    req.on('data', (d: Buffer) => {
      if (truncated) return;
      if (size + d.length > limit) {
        // keep the first `limit` bytes (bounded raw), stop reading, answer 413 after storing them
        chunks.push(d.subarray(0, limit - size));
        size = limit;
        truncated = true;
        finish();
        return;
      }
      chunks.push(d);
      size += d.length;
    });
    req.on('end', () => finish());
    req.on('error', () => {
      /* client went away: nothing was acknowledged */
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const body = Buffer.concat(chunks, size);
      route
        .handle({ req, url, body, truncated, receivedMs }, env)
        .then((r) => {
          if (truncated) res.setHeader('connection', 'close');
          send(res, r);
          if (truncated) req.destroy();
        })
        .catch((err: unknown) => {
          // the store failed: nothing of this request was committed, the terminal must retry
          env.log.error({ err: (err as Error)?.message, path: url.pathname }, 'check-in request failed');
          send(res, json(503, { error: 'not stored, retry' }));
        });
    };
  }

  async stop(): Promise<void> {
    this.cancelListen?.();
    await Promise.all([...this.streams.values()].map((s) => s.stop()));
    this.streams.clear();
    this.healthWatch?.stop();
    if (this.server) {
      const s = this.server;
      this.server = undefined;
      await new Promise<void>((r) => {
        s.close(() => r());
        s.closeIdleConnections?.();
        setTimeout(() => s.closeAllConnections?.(), 2000).unref();
      });
    }
    await this.ingest?.close();
  }
}
