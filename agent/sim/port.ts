import net from 'node:net';

/**
 * Does something accept TCP connections on this loopback port yet? The simulators and the test
 * brokers poll it while the server they spawned starts (nginx, Mosquitto). A bound keeps a port
 * that never answers (a firewall drop) from hanging the poll.
 */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
