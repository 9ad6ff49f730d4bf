/**
 * A feature of the daemon. The constructor only stores its context; all I/O starts in
 * start() and ends in stop(), so the composition root controls order and a failing module
 * can be stopped without touching the others.
 */
export interface Module {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
