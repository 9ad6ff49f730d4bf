import type { Logger } from 'pino';
import { resolveSecret } from '../config/load.js';
import type { TerminalConfig } from '../config/schema.js';
import type { AgentContext } from '../core/context.js';
import type { Ingest } from './ingest.js';
import type { Part } from './multipart.js';
import { StreamClient } from './stream-client.js';

const HEARTBEAT_WRITE_MS = 10_000;

/**
 * The client side of one terminal that pushes events on a long-lived multipart stream and can
 * be searched for past events (Hikvision alertStream + AcsEvent, Dahua attach + recordFinder).
 * What is the same for every vendor lives here: the stream is held open by StreamClient; every
 * part is stored raw before parsing; a part that cannot be stored drops the connection so that
 * the catch-up after reconnecting fetches it again; each (re)connection counts as contact and
 * starts a catch-up search from the newest stored event, whose overlap the vendor's event
 * number dedupes. A vendor says where its stream is, which parts are heartbeats, how one part
 * is submitted and how the search pages.
 */
export abstract class EventStreamTerminal {
  private client?: StreamClient;
  private lastHb = 0;
  private catching?: Promise<unknown>;
  catchUps = 0;
  protected abstract readonly protocol: 'hikvision' | 'dahua';
  /** for log lines: "AcsEvent", "recordFinder" */
  protected abstract readonly searchName: string;

  constructor(
    protected ctx: AgentContext,
    protected ingest: Ingest,
    protected term: TerminalConfig,
  ) {}

  /** path and query of the event stream */
  protected abstract streamPath(): string;
  protected abstract isHeartbeat(p: Part): boolean;
  /** store one part raw and parse it (ingest.submit) */
  protected abstract submitPart(p: Part): Promise<unknown>;
  /** search past events from the newest stored one to now, page by page; returns check-ins stored */
  protected abstract search(): Promise<number>;

  protected get base(): string {
    return this.term.url!.replace(/\/+$/, '');
  }

  protected get password(): string | undefined {
    return resolveSecret(this.term.password, `terminals[${this.term.id}].password`);
  }

  start(): void {
    const c = this.ctx.cfg.checkin;
    const log: Logger = this.ctx.log.child({ terminal: this.term.id, protocol: this.protocol });
    this.client = new StreamClient({
      url: `${this.base}${this.streamPath()}`,
      username: this.term.username,
      password: this.password,
      heartbeatTimeoutMs: c.streamHeartbeatTimeoutMs,
      reconnectMinMs: c.reconnectMinMs,
      reconnectMaxMs: c.reconnectMaxMs,
      log,
      onHeartbeat: () => this.heartbeat(),
      onPart: (p) => {
        if (this.isHeartbeat(p)) return this.heartbeat();
        this.submitPart(p).catch((err: Error) => {
          // not stored: reconnecting makes the catch-up search fetch it again
          log.error({ err: err.message }, 'stream part not stored; reconnecting to catch up');
          this.client?.stop();
          this.client?.start();
        });
      },
      onConnected: () => {
        // a successful (re)connection is contact: devices without heartbeats are not "quiet"
        this.heartbeat(true);
        this.catching = this.catchUp().catch((err: Error) => log.warn({ err: err.message }, `${this.searchName} catch-up failed`));
      },
    });
    this.client.start();
  }

  private heartbeat(force = false): void {
    const now = this.ctx.now();
    if (!force && now - this.lastHb < HEARTBEAT_WRITE_MS) return;
    this.lastHb = now;
    this.ingest.repo.heartbeat(this.term.id, this.protocol, now);
  }

  async catchUp(): Promise<number> {
    const stored = await this.search();
    this.catchUps++;
    return stored;
  }

  /** the search answered something other than 200: the device lacks it; the push channel alone covers outages */
  protected searchUnavailable(status: number | undefined): void {
    this.ctx.log.warn({ terminal: this.term.id, status }, `${this.searchName} search not available on this terminal`);
  }

  /** Resolves when the catch-up started by the last connection has finished (tests). */
  async settled(): Promise<void> {
    await this.catching;
  }

  get connects(): number {
    return this.client?.connects ?? 0;
  }

  async stop(): Promise<void> {
    this.client?.stop();
    await this.catching;
  }
}
