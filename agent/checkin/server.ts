import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { AgentContext } from '../core/context.js';
import type { Module } from '../core/module.js';
import { resolveSecret } from '../config/load.js';
import { Ingest } from './ingest.js';
import { Terminals } from './terminals.js';
import { answerAndClose, CLOSE_GRACE_MS, isReply, json, send, sendAndHalfClose, warnLimiter, type Reply, type Route, type RouteEnv } from './http.js';
import { Credentials, plainAddress } from './auth.js';
import type { Config } from '../config/schema.js';
import { zktecoRoute } from './zkteco/route.js';
import { webhookRoute } from './webhook/route.js';
import { TerminalHealth } from './health.js';
import { RawBudget } from './rawbudget.js';
import { hikvisionPushRoute } from './hikvision/route.js';
import { HikvisionStreams } from './hikvision/client.js';
import { DahuaStreams } from './dahua/client.js';
import type { EventStreamTerminal } from './event-stream.js';
import { AlarmRepo } from '../store/alarms.js';
import { listenWithRetry } from '../core/listen.js';
import { UntrustedGate } from './gate.js';
import { KnockBook } from './zkteco/knocks.js';

const ROUTES: Route[] = [zktecoRoute, webhookRoute, hikvisionPushRoute];

/**
 * The check-in server: one hardened node:http listener (not Fastify: docs/checkin-security.md §3
 * says why, with the hostile-load figures) for every push protocol (ZKTeco /iclock, Hikvision
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
  private rawBudget?: RawBudget;
  private cancelListen?: () => void;
  private proven = new TerminalReservations();
  private gate!: UntrustedGate;

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
    const warn = warnLimiter(log, this.ctx.now);
    this.env = {
      ingest: this.ingest,
      terminals,
      log,
      creds: new Credentials(cfg.terminals, { token: resolveSecret(c.token, 'checkin.token'), hmacSecret: resolveSecret(c.hmacSecret, 'checkin.hmacSecret') }, c.allowQueryToken),
      now: this.ctx.now,
      lastPoll: new Map(),
      knocks: new KnockBook(this.ingest.repo, warn),
      warn,
    };
    this.gate = new UntrustedGate(UNTRUSTED_AT_ONCE, c.requestTimeoutMs, !c.tls);
    const server = listener(c, (req, res) => this.onRequest(req, res));
    this.capConnections(server, c.maxConnections, c.maxConnectionsPerAddress);
    // beyond this even terminals' connections are closed, by Node before it makes a socket of
    // them (cheap under a flood of connects); the margin is the terminals' share above the cap,
    // and as many again for answered connections in their grace before the close (Node counts
    // those; the cap below does not)
    server.maxConnections = 2 * c.maxConnections + TERMINAL_MARGIN;
    this.server = server;
    // a busy port is retried with backoff (and alarmed) while the terminal streams and health run
    const alarms = new AlarmRepo(this.ctx.store);
    const listening = listenWithRetry(server, {
      port: c.listen.port,
      host: c.listen.host,
      log,
      what: 'check-in server',
      // why: a flood of connects fills Node's default queue of 511, and then the kernel drops a
      // terminal's SYN, which it resends only after 1 s, 3 s, 7 s: the valid check-in's latency
      // under a flood was that retransmit ladder (p99 6-11 s), not our processing
      backlog: ACCEPT_BACKLOG,
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
    this.rawBudget = new RawBudget(this.ctx, c.rawBudgetBytes, c.healthIntervalMs);
    this.rawBudget.start();
  }

  /**
   * Connections in total and per source address; beyond either a new socket is closed at once,
   * before any byte of it is read. Exempt from both, so a flood from elsewhere cannot crowd out
   * the terminals: the addresses of configured terminals with an allowlist, and the addresses
   * that recently proved a terminal's credential (`provenAddresses`: terminals without an
   * allowlist keep their reserved share too).
   * (Node's own server.maxConnections is not used: it cannot exempt anyone.)
   */
  private capConnections(server: http.Server, total: number, perAddress: number): void {
    const open = new Map<string, number>();
    let all = 0;
    // why: the HTTP server's own connection handling (parser, timers, listeners) is what a flood
    // of connects costs, and a terminal's connection waits in the accept queue behind all of it.
    // Sockets are created unread (pauseOnConnect), classified here, and handed to the HTTP
    // (or TLS) server only when served: at once for terminals, through the gate for the rest.
    const handlers = server.listeners('connection') as ((s: Socket) => void)[];
    server.removeAllListeners('connection');
    (server as unknown as { pauseOnConnect: boolean }).pauseOnConnect = true;
    const hand = (socket: Socket) => {
      if (socket.destroyed) return;
      for (const h of handlers) h.call(server, socket);
      socket.resume();
    };
    server.on('connection', (socket: Socket) => {
      (socket as TimedSocket)[ACCEPTED] = performance.now();
      const a = plainAddress(socket.remoteAddress);
      const n = (open.get(a) ?? 0) + 1;
      const trusted = this.env!.creds.isTrusted(a);
      const reserved = !trusted && this.proven.has(a, this.ctx.now());
      if (!trusted && (n > perAddress || (all >= total && !reserved))) {
        this.env!.warn(`conn-cap:${n > perAddress ? a : '*'}`, { address: a, open: n - 1, total: all }, 'too many connections: new ones closed');
        // answered, not reset (answerAndClose says why): 429, this address holds too many; 503, the box is at its total
        answerAndClose(socket, n > perAddress ? '429 Too Many Requests' : '503 Service Unavailable', !this.ctx.cfg.checkin.tls, 'Retry-After: 10\r\n');
        return;
      }
      open.set(a, n);
      all++;
      // an answered, half-closed connection (refused, shed, timed out) costs an fd for its grace
      // before the close and nothing else: it stops counting when its answer is written, so a
      // flood's refusals do not fill the total for the next clients
      let counted = true;
      const leave = () => {
        if (!counted) return;
        counted = false;
        all--;
        const m = (open.get(a) ?? 1) - 1;
        if (m <= 0) open.delete(a);
        else open.set(a, m);
      };
      socket.once('finish', leave);
      socket.once('close', leave);
      if (trusted || reserved) hand(socket);
      else this.gate.enter(socket, () => hand(socket));
    });
  }

  /**
   * Order: request line and headers → route → admission (credential, serial, source address) →
   * body, streamed and bounded → handler. Nothing of the body is read (or buffered) before the
   * caller is admitted; a refusal is answered and the rest of the body drained (bounded), so the
   * client reads its 401/413 instead of a reset.
   */
  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    // a refusal frees the connection's gate slot at once (a half-closed one never finishes its response)
    const refuse = (rq: http.IncomingMessage, rs: http.ServerResponse, r: Reply) => {
      refuseBody(rq, rs, r);
      this.gate.done(rq.socket);
    };
    const receivedMs = this.ctx.now();
    const t0 = performance.now();
    const env = this.env!;
    const limit = this.ctx.cfg.checkin.maxBodyBytes;
    res.once('finish', () => this.gate.done(req.socket));
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://agent.local');
    } catch {
      return refuse(req, res, json(400, { error: 'bad request target' }));
    }
    const route = ROUTES.find((r) => r.matches(url.pathname));
    if (!route) return refuse(req, res, json(404, { error: 'no such endpoint' }));
    let caller;
    try {
      caller = route.admit(req, url, env);
    } catch {
      return refuse(req, res, json(404, { error: 'no such endpoint' }));
    }
    this.gate.started(req.socket);
    if (isReply(caller)) return refuse(req, res, caller);
    const proved = caller;
    res.once('finish', () => {
      // the terminal's own secret was proved (HMAC only once the body matched): its address is reserved
      if (res.statusCode < 400 && proved.terminal && proved.via !== 'serial' && env.creds.hasOwn(proved.terminal))
        this.proven.add(proved.terminal.id, plainAddress(req.socket.remoteAddress), this.ctx.now());
    });
    const st = { accepted: (req.socket as TimedSocket)[ACCEPTED] ?? t0, headers: t0, admitted: performance.now(), body: 0, stored: 0 };
    res.once('finish', () => {
      const r = (x: number) => Math.round(x - st.accepted);
      env.log.debug(
        {
          path: url.pathname.slice(0, 40),
          status: res.statusCode,
          at: Math.round(performance.timeOrigin + st.accepted),
          ms: { headers: r(st.headers), admitted: r(st.admitted), body: r(st.body), stored: r(st.stored), answered: r(performance.now()) },
        },
        'check-in request stages',
      );
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    req.on('data', (d: Buffer) => {
      if (truncated) return; // drained: the answer is on its way
      if (size + d.length > limit) {
        // keep the first `limit` bytes (bounded raw), stop collecting, answer 413 after storing them
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
      chunks.length = 0;
      st.body = performance.now();
      route
        .handle({ req, url, body, truncated, receivedMs, caller }, env)
        .then((r) => ((st.stored = performance.now()), r))
        .then((r) => (truncated ? refuse(req, res, r) : send(res, r)))
        .catch((err: unknown) => {
          // the store failed: nothing of this request was committed, the terminal must retry
          env.warn(`store-failed:${url.pathname.slice(0, 40)}`, { err: (err as Error)?.message, path: url.pathname.slice(0, 80) }, 'check-in request failed');
          send(res, json(503, { error: 'not stored, retry' }));
        });
    };
  }

  async stop(): Promise<void> {
    this.cancelListen?.();
    await Promise.all([...this.streams.values()].map((s) => s.stop()));
    this.streams.clear();
    this.healthWatch?.stop();
    this.rawBudget?.stop();
    if (this.server) {
      const s = this.server;
      this.server = undefined;
      await new Promise<void>((r) => {
        s.close(() => r());
        s.closeIdleConnections?.();
        setTimeout(() => s.closeAllConnections?.(), 2000).unref();
      });
    }
    this.env?.knocks.flush();
    await this.ingest?.close();
  }
}

/** The listener: HTTPS with the box certificate when configured, else HTTP; with every timeout set. */
function listener(c: Config['checkin'], onRequest: http.RequestListener): http.Server {
  const opts: http.ServerOptions = {
    requestTimeout: c.requestTimeoutMs,
    headersTimeout: Math.min(c.headersTimeoutMs, c.requestTimeoutMs),
    keepAliveTimeout: c.idleTimeoutMs,
    // why: Node checks request timeouts only this often (default 30 s); a slow sender must not hold a socket for long
    connectionsCheckingInterval: Math.max(100, Math.min(c.headersTimeoutMs / 2, c.requestTimeoutMs / 2, 30_000)),
    // the request line and headers: 16 kB is plenty for every terminal and bounds what a client may make us hold
    maxHeaderSize: 16_384,
  };
  let server: http.Server;
  if (c.tls) {
    const read = (f: string, what: string) => {
      try {
        return fs.readFileSync(f);
      } catch (err) {
        throw new Error(`checkin.tls.${what}: cannot read ${f} (${(err as NodeJS.ErrnoException).code}); make the box certificate with scripts/box-cert.sh`);
      }
    };
    server = https.createServer({ ...opts, cert: read(c.tls.cert, 'cert'), key: read(c.tls.key, 'key') }, onRequest) as unknown as http.Server;
  } else server = http.createServer(opts, onRequest);
  server.maxHeadersCount = 100;
  // a socket silent this long (no byte either way, even mid-request) is closed
  server.setTimeout(c.idleTimeoutMs);
  server.on('clientError', (err, socket) => {
    // malformed HTTP or a timeout: answer if the socket still can, never throw, never log (clients trigger it)
    // already answered and half-closed (the gate shed it, a refusal): destroyed by its own timer;
    // destroying it now would reset the client before it reads the answer it has
    if (!socket.writable) return void setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    const code = (err as NodeJS.ErrnoException).code;
    const status = code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}

/** when the socket was accepted (performance.now()), for the per-stage timing of a request */
const ACCEPTED = Symbol('accepted');
type TimedSocket = Socket & { [ACCEPTED]?: number };

/** untrusted connections served at once (gate.ts says why so few) */
const UNTRUSTED_AT_ONCE = 8;

/** connections above checkin.maxConnections kept for allowlisted and reserved terminal addresses */
const TERMINAL_MARGIN = 64;

/** The kernel accept queue asked for (Linux caps it at net.core.somaxconn, 4096 since 5.4). */
const ACCEPT_BACKLOG = 4096;

/**
 * What is read and thrown away of a refused request's body before the connection is closed:
 * small enough that a flood of refused 1 MB bodies costs the event loop almost nothing (it once
 * drained up to 1 MB for 5 s each, and the valid terminals waited behind that), large enough that
 * a misconfigured terminal with a wrong token keeps its keep-alive connection.
 */
const DRAIN_BYTES = 65_536;
/** a small body still arriving after this long is a trickle: closed (bytes are bounded above; this frees the slot) */
const DRAIN_MS = 1_000;

/**
 * Answer a request whose body is not wanted (refused, or over the limit) so that the client
 * reads the answer, and spend little on the rest of its body:
 * - the rest is known to be larger than DRAIN_BYTES (Content-Length, chunked, over the limit):
 *   answered with `Connection: close`, nothing more of the body is read, and the socket is
 *   closed once the answer is written. The answer is in the client's receive queue (or on the
 *   wire ahead of it) before the reset that the unread data causes, and a client reads queued
 *   data before it sees the reset (the hostile test counts the clients that saw a reset before
 *   their answer: 0 of 1,000);
 * - else (a small body): it is drained, at most DRAIN_BYTES within DRAIN_MS, and the connection
 *   stays usable (keep-alive); a client that trickles is closed after DRAIN_MS.
 */
function refuseBody(req: http.IncomingMessage, res: http.ServerResponse, r: Reply): void {
  if (req.complete) return send(res, r);
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  const big = req.headers['transfer-encoding'] !== undefined || !(declared <= DRAIN_BYTES);
  req.removeAllListeners('data');
  if (big) {
    // read nothing more: answered on the socket itself and half-closed (http.ts says why not
    // through Node's response, which dumps the rest of the body: hundreds of MB under a flood);
    // destroyed CLOSE_GRACE_MS later, by when a client has read its answer and closed
    const socket = req.socket;
    socket.pause();
    sendAndHalfClose(socket, r);
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    return;
  }
  send(res, r);
  let drained = 0;
  const socket = req.socket;
  const stop = () => socket.destroy();
  const timer = setTimeout(stop, DRAIN_MS);
  timer.unref();
  req.on('data', (d: Buffer) => {
    drained += d.length;
    if (drained > DRAIN_BYTES) stop();
  });
  req.on('end', () => clearTimeout(timer));
  req.on('error', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  req.resume();
}

/**
 * Where each terminal recently proved its own credential (token, Digest, HMAC; not a serial,
 * which is no secret, nor the shared token): an address reserved this way is exempt from the
 * total connection cap and from the untrusted gate for an hour, so a flood cannot crowd a
 * terminal out, but it keeps the per-address cap. Bounded: the last PER_TERMINAL addresses of
 * each configured terminal, so the exemption is at most terminals × 2 addresses × the
 * per-address cap, whoever holds which token. (It was per address, for an hour, after any
 * admitted request: one approved serial or the shared token made an address exempt.)
 */
export class TerminalReservations {
  private by = new Map<string, Map<string, number>>();
  constructor(
    private ttlMs = 3_600_000,
    private perTerminal = 2,
  ) {}
  add(terminal: string, address: string, nowMs: number): void {
    let m = this.by.get(terminal);
    if (!m) this.by.set(terminal, (m = new Map()));
    m.delete(address);
    m.set(address, nowMs);
    while (m.size > this.perTerminal) m.delete(m.keys().next().value as string);
  }
  has(address: string, nowMs: number): boolean {
    for (const m of this.by.values()) {
      const at = m.get(address);
      if (at !== undefined && nowMs - at < this.ttlMs) return true;
    }
    return false;
  }
}
