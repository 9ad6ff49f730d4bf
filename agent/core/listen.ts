import type net from 'node:net';
import type { Logger } from 'pino';
import { Backoff } from './backoff.js';

export interface ListenOptions {
  port: number;
  host: string;
  log: Logger;
  /** what listens, for the log line (`check-in server`) */
  what: string;
  minMs?: number;
  maxMs?: number;
  /** told on each busy attempt (to raise an alarm) and once bound (to clear it) */
  onBusy?: (attempt: number, retryMs: number) => void;
  onListening?: () => void;
  /** the kernel's accept queue length (Node's default 511; capped by net.core.somaxconn) */
  backlog?: number;
}

/**
 * Listen, and while the port is in use (the previous instance still closing, another program on
 * it) retry with backoff in the background, logging each attempt, instead of failing the module
 * for good. Other errors (no permission for the port, an address this box does not have) are the
 * config's and reject. Resolves once the first attempt is decided: true when bound.
 */
export function listenWithRetry(server: net.Server, o: ListenOptions): { first: Promise<boolean>; cancel: () => void } {
  const backoff = new Backoff(o.minMs ?? 1000, o.maxMs ?? 30_000);
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  let settleFirst: ((bound: boolean) => void) | undefined;
  let failFirst: ((err: Error) => void) | undefined;
  const first = new Promise<boolean>((resolve, reject) => {
    settleFirst = resolve;
    failFirst = reject;
  });
  const attempt = () => {
    if (cancelled) return;
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code !== 'EADDRINUSE') {
        o.log.error({ port: o.port, host: o.host, code: err.code }, `${o.what} cannot listen`);
        if (failFirst) return void failFirst(err);
        return;
      }
      const wait = backoff.next();
      o.log.warn({ port: o.port, host: o.host, attempt: backoff.failures, retryMs: wait }, `${o.what}: port ${o.port} is in use; retrying`);
      o.onBusy?.(backoff.failures, wait);
      settleFirst?.(false);
      settleFirst = failFirst = undefined;
      timer = setTimeout(attempt, wait);
      timer.unref();
    };
    const onListening = () => {
      server.off('error', onError);
      if (backoff.failures) o.log.info({ port: o.port, attempts: backoff.failures + 1 }, `${o.what}: port free again, listening`);
      o.onListening?.();
      settleFirst?.(true);
      settleFirst = failFirst = undefined;
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port: o.port, host: o.host, backlog: o.backlog });
  };
  attempt();
  return {
    first,
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Close a server now: stop accepting, and end the connections it tracks (keep-alive sockets and
 * long-lived streams would otherwise hold close() open).
 */
export function closeServer(server: net.Server, sockets: Iterable<net.Socket>): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const sock of sockets) sock.destroy();
  });
}
