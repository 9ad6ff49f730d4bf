import net from 'node:net';
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

/** An in-process aedes broker on 127.0.0.1, ephemeral port (or the given one, for restarts). */
export async function startAedes(port = 0): Promise<AedesBroker> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${p}`,
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
