import type net from 'node:net';

/**
 * How many connections from addresses not known to be terminals are served at once; the rest
 * wait paused (not read: their bytes stay in the kernel's receive buffer) until one of those
 * has had its first answer or has closed.
 *
 * Why: Node serves every ready socket of an event-loop turn before the next turn. Under a flood
 * of 1,000 hostile connections one turn held 1,000 of them (accept, parse, answer 401, close:
 * about 2 ms of CPU each on a loaded 2-core box), and a terminal's request that arrived in that
 * turn waited for all of them: seconds. With the gate a turn holds at most `max` hostile
 * sockets beside the terminals' ones, which are never gated (allowlisted addresses and
 * addresses that recently proved a credential), so a valid check-in waits for at most `max`.
 */
export class UntrustedGate {
  private active = new Set<net.Socket>();
  private waiting: net.Socket[] = [];
  private scheduled = false;

  constructor(private max = 64) {}

  /** A new untrusted connection: served now, or paused until a slot is free. */
  enter(socket: net.Socket): void {
    socket.once('close', () => this.done(socket));
    if (this.active.size < this.max) return void this.active.add(socket);
    socket.pause();
    this.waiting.push(socket);
  }

  /** The connection's first request was answered, or it closed: its slot goes to the next one. */
  done(socket: net.Socket): void {
    if (!this.active.delete(socket)) {
      const i = this.waiting.indexOf(socket);
      if (i >= 0) this.waiting.splice(i, 1);
      return;
    }
    if (this.waiting.length && !this.scheduled) {
      // in the next turn, not inside this socket's callbacks: the terminals' sockets ready now go first
      this.scheduled = true;
      setImmediate(() => this.admitWaiting());
    }
  }

  private admitWaiting(): void {
    this.scheduled = false;
    while (this.active.size < this.max && this.waiting.length) {
      const s = this.waiting.shift()!;
      if (s.destroyed) continue;
      this.active.add(s);
      s.resume();
    }
  }

  get counts(): { active: number; waiting: number } {
    return { active: this.active.size, waiting: this.waiting.length };
  }
}
