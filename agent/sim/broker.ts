import net from 'node:net';
import tls from 'node:tls';
import { Aedes } from 'aedes';

/**
 * An embedded MQTT broker (aedes) and free ports on 127.0.0.1: the demo's stand-in for the
 * provincial broker, and the unit tests' real broker.
 */
export interface AedesBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface AedesOptions {
  /** accept a login (false: CONNACK 4, bad user name or password) */
  authenticate?: (username: string | undefined, password: Buffer | undefined) => boolean;
  /** serve MQTT over TLS with this key and certificate (mqtts://) */
  tls?: { key: Buffer; cert: Buffer };
}

/** An in-process aedes broker on 127.0.0.1, ephemeral port (or the given one, for restarts). */
export async function startAedes(port = 0, opts: AedesOptions = {}): Promise<AedesBroker> {
  const broker = await Aedes.createBroker(
    opts.authenticate
      ? {
          authenticate: (_c, u, p, done) => {
            if (opts.authenticate!(u, p)) return done(null, true);
            done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }) as never, false);
          },
        }
      : {},
  );
  const server = opts.tls ? tls.createServer({ key: opts.tls.key, cert: opts.tls.cert }, broker.handle) : net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on(opts.tls ? 'secureConnection' : 'connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.address() as net.AddressInfo).port;
  return {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${p}`,
    port: p,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
