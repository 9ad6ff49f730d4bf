import fs from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { resolveSecret } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import { maskUrl } from '../core/log.js';

type SyncCfg = Config['sync'];

/**
 * mqtt.js options from the sync config. Credentials are read from files/env at connect time
 * and never logged: describe() gives the loggable view.
 *
 * Security: with `tls.cert`/`tls.key` the box authenticates with its own client certificate
 * (CN = box id; the broker maps it to the username with use_identity_as_username /
 * peer_cert_as_username, and its ACL confines the box to <prefix>/<box>/#). The broker's
 * certificate is always verified against `tls.ca` (or the system CAs) unless
 * rejectUnauthorized is explicitly false.
 */
export function mqttOptions(sync: SyncCfg, clientId: string): IClientOptions {
  const opts: IClientOptions = {
    clientId,
    // why clean sessions: durability lives in our outbox and the application ack, not in the
    // broker's session queue (Mosquitto drops past 1000 queued messages per client)
    clean: true,
    protocolVersion: 4,
    keepalive: 30,
    connectTimeout: 10_000,
    // why 0: we schedule reconnects ourselves with exponential backoff and jitter
    reconnectPeriod: 0,
    queueQoSZero: false,
    resubscribe: false,
  };
  if (sync.username) opts.username = sync.username;
  const password = resolveSecret(sync.password, 'sync.password');
  if (password !== undefined) opts.password = password;
  if (sync.tls) {
    const read = (p: string | undefined, where: string) => {
      if (!p) return undefined;
      try {
        return fs.readFileSync(p);
      } catch (err) {
        throw new InputError('config', [{ path: where, message: `cannot read ${p}: ${(err as Error).message}` }]);
      }
    };
    opts.ca = read(sync.tls.ca, 'sync.tls.ca');
    opts.cert = read(sync.tls.cert, 'sync.tls.cert');
    opts.key = read(sync.tls.key, 'sync.tls.key');
    opts.rejectUnauthorized = sync.tls.rejectUnauthorized;
    if ((opts.cert && !opts.key) || (!opts.cert && opts.key)) {
      throw new InputError('config', [{ path: 'sync.tls', message: 'cert and key go together' }]);
    }
  }
  return opts;
}

/** What may be logged about the connection. */
export function describe(sync: SyncCfg): Record<string, unknown> {
  return {
    url: maskUrl(sync.url),
    auth: sync.tls?.cert ? 'client-certificate' : sync.username ? 'username' : 'none',
    tls: /^(mqtts|wss|ssl|tls):/.test(sync.url),
  };
}
