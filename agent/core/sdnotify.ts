import { execFile } from 'node:child_process';
import { logger } from './log.js';

const log = logger('sdnotify');

/**
 * systemd service notification (sd_notify): READY=1 once the modules are up, WATCHDOG=1 at half
 * the unit's WatchdogSec, STOPPING=1 when shutting down.
 *
 * why a child process: the protocol is one datagram on the AF_UNIX socket in $NOTIFY_SOCKET,
 * and Node has no unix datagram sockets (nodejs/node#10314 was closed without them). Native
 * addons (sd-notify, systemd-daemon) need a compiler on the box; `systemd-notify` ships with
 * systemd itself, so it is there exactly when $NOTIFY_SOCKET is. Because the datagram then comes
 * from the child's pid, the unit needs NotifyAccess=all; `--pid` names us as the main pid. Since
 * systemd 246 systemd-notify waits until PID 1 has read the message (no race with the child's
 * exit, which used to make PID 1 drop it).
 *
 * Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op; a failing systemd-notify is
 * logged once and never stops the daemon (zigbee2mqtt's sd-notify soft-fails the same way).
 */
export class SdNotify {
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  readonly available: boolean;

  constructor(
    private env: NodeJS.ProcessEnv = process.env,
    private binary = 'systemd-notify',
    private pid = process.pid,
  ) {
    this.available = !!env.NOTIFY_SOCKET;
  }

  /** Watchdog ping interval in ms (half of $WATCHDOG_USEC), or undefined when no watchdog is asked for. */
  watchdogIntervalMs(): number | undefined {
    const usec = Number(this.env.WATCHDOG_USEC);
    if (!this.available || !Number.isFinite(usec) || usec <= 0) return undefined;
    // WATCHDOG_PID, when set, names the process the watchdog is meant for (not our children)
    if (this.env.WATCHDOG_PID && Number(this.env.WATCHDOG_PID) !== this.pid) return undefined;
    return Math.max(500, Math.floor(usec / 1000 / 2));
  }

  /** Send state assignments ("READY=1", "STATUS=..."); resolves true when systemd got them. */
  notify(...states: string[]): Promise<boolean> {
    if (!this.available) return Promise.resolve(false);
    return new Promise((resolve) => {
      execFile(this.binary, [`--pid=${this.pid}`, ...states], { timeout: 5000, env: this.env }, (err) => {
        if (err) {
          if (!this.warned) log.warn({ err: err.message, states }, 'systemd-notify failed; continuing without systemd notification');
          this.warned = true;
          resolve(false);
        } else resolve(true);
      });
    });
  }

  ready(status = 'running'): Promise<boolean> {
    return this.notify('READY=1', `STATUS=${status}`);
  }

  stopping(status = 'stopping'): Promise<boolean> {
    this.stopWatchdog();
    return this.notify('STOPPING=1', `STATUS=${status}`);
  }

  status(text: string): Promise<boolean> {
    return this.notify(`STATUS=${text}`);
  }

  /**
   * Ping WATCHDOG=1 at half the watchdog period. The timer runs on the event loop, so a blocked
   * loop (a hung native call, an endless loop) misses pings and systemd restarts us: that is the
   * point. `healthy` lets the daemon withhold pings when it knows it is wedged.
   */
  startWatchdog(healthy: () => boolean = () => true): number | undefined {
    const every = this.watchdogIntervalMs();
    if (every === undefined || this.timer) return undefined;
    this.timer = setInterval(() => {
      if (healthy()) void this.notify('WATCHDOG=1');
    }, every);
    this.timer.unref();
    return every;
  }

  stopWatchdog(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
