import type net from 'node:net';
import { answerAndClose } from './http.js';

/**
 * How many connections from addresses not known to be terminals are served at once; the rest
 * wait unread (their bytes stay in the kernel's receive buffer), and not yet handed to the HTTP
 * server (no parser, no timers: a waiting socket costs one small object), until one of those has
 * had its first answer or has closed. A waiter not served within `waitMs` is answered 408 and
 * closed (the HTTP server's headers timeout does not cover a socket it has not been given).
 *
 * Why: Node serves every ready socket of an event-loop turn before the next turn. Under a flood
 * of 1,000 hostile connections one turn held 1,000 of them (accept, parse, answer 401, close:
 * about 2 ms of CPU each on a loaded 2-core box), and a terminal's request that arrived in that
 * turn waited for all of them: seconds. A valid check-in passes through about five turns
 * (accept, headers and body, group-commit timer, fsync callback, answer), so what one turn may
 * hold of hostile work is what bounds its latency: with 64 served at once, at a few percent of
 * a core under load, each turn took up to a second (measured p99 5-6 s). With `max` = 8 a turn
 * holds at most 8 hostile sockets beside the terminals' ones, which are never gated (allowlisted
 * addresses, and addresses where a terminal recently proved its own credential). The flood is
 * served just as fast in total (the CPU, not the concurrency, is its bound).
 *
 * Slots held by idle clients are shed: when a connection waits, an admitted one that has not
 * sent a whole request line and headers within SHED_IDLE_MS is answered 408 and closed (a
 * terminal on a LAN sends its headers in one packet, milliseconds after connecting). Without
 * this, eight silent connections would hold every slot until the headers timeout (10 s).
 * A waiter's bound is the whole request's (checkin.requestTimeoutMs).
 */
export class UntrustedGate {
  private active = new Map<net.Socket, { since: number; started: boolean }>();
  private waiting: { socket: net.Socket; since: number; admit: () => void }[] = [];
  private scheduled = false;
  private sweeper?: NodeJS.Timeout;
  /** connections closed to free a slot (for the bench and tests) */
  shed = 0;

  constructor(
    private max = 8,
    private waitMs = 10_000,
    /** whether a raw HTTP answer can be written on the socket (not on a TLS port before its handshake) */
    private plain = true,
    private idleMs = SHED_IDLE_MS,
    private now: () => number = () => performance.now(),
  ) {}

  /** A new untrusted connection (not yet read): `admit` (hand it to the HTTP server) now, or once a slot is free. */
  enter(socket: net.Socket, admit: () => void): void {
    socket.once('close', () => this.done(socket));
    if (this.active.size < this.max) {
      this.active.set(socket, { since: this.now(), started: false });
      return admit();
    }
    this.waiting.push({ socket, since: this.now(), admit });
    this.shedIdle();
  }

  /** The connection's first request line and headers have arrived: it is no longer idle. */
  started(socket: net.Socket): void {
    const a = this.active.get(socket);
    if (a) a.started = true;
  }

  /** The connection's first request was answered, or it closed: its slot goes to the next one. */
  done(socket: net.Socket): void {
    if (!this.active.delete(socket)) {
      const i = this.waiting.findIndex((w) => w.socket === socket);
      if (i >= 0) this.waiting.splice(i, 1);
      return;
    }
    if (this.waiting.length && !this.scheduled) {
      // in the next turn, not inside this socket's callbacks: the terminals' sockets ready now go first
      this.scheduled = true;
      setImmediate(() => this.admitWaiting());
    }
  }

  /**
   * Answered 408 and half-closed (answerAndClose); not destroyed at once: the client may still be
   * writing a body we never read, and a close with unread data is a reset, which made 19 of 1,000
   * flooding clients fail their write (EPIPE) before they read the answer already in their receive queue.
   */
  private timeOut(s: net.Socket): void {
    answerAndClose(s, '408 Request Timeout', this.plain);
  }

  /**
   * Close admitted connections idle past idleMs while others wait, and waiters past waitMs;
   * re-checked while anyone waits.
   */
  private shedIdle(): void {
    const t = this.now();
    while (this.waiting.length && t - this.waiting[0].since >= this.waitMs) this.timeOut(this.waiting.shift()!.socket);
    for (const [s, a] of this.active) {
      if (this.waiting.length <= 0) break;
      if (a.started || t - a.since < this.idleMs || s.destroyed) continue;
      this.shed++;
      this.active.delete(s);
      this.timeOut(s);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.admitWaiting());
      }
    }
    if (this.waiting.length && !this.sweeper) {
      this.sweeper = setTimeout(() => {
        this.sweeper = undefined;
        this.shedIdle();
      }, Math.min(this.idleMs, this.waitMs) / 2);
      this.sweeper.unref();
    }
  }

  private admitWaiting(): void {
    this.scheduled = false;
    while (this.active.size < this.max && this.waiting.length) {
      const w = this.waiting.shift()!;
      if (w.socket.destroyed) continue;
      this.active.set(w.socket, { since: this.now(), started: false });
      w.admit();
    }
  }

  get counts(): { active: number; waiting: number; shed: number } {
    return { active: this.active.size, waiting: this.waiting.length, shed: this.shed };
  }
}

/** how long a timed-out connection stays half-closed for its client to read the 408 */

/** an admitted untrusted connection with no whole request after this long may be closed to free its slot */
export const SHED_IDLE_MS = 250;
