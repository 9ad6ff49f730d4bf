import net from 'node:net';

/**
 * A TCP proxy for fault injection between the agent and a peer (camera, broker). Modes:
 * - 'pass': forward bytes both ways;
 * - 'drop': cut every open connection and refuse new ones (accept, then reset): the camera
 *   vanished from the network;
 * - 'stall': keep connections open but stop forwarding (a half-dead camera or a congested link).
 */
export type ProxyMode = 'pass' | 'drop' | 'stall';

export class TcpProxy {
  port = 0;
  mode: ProxyMode = 'pass';
  private server?: net.Server;
  private pairs = new Set<[net.Socket, net.Socket]>();

  constructor(private target: { host: string; port: number }) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  private accept(client: net.Socket): void {
    if (this.mode === 'drop') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (b) => {
        // in 'stall' bytes are swallowed, not buffered: the stream is really stuck
        if (this.mode === 'pass' && !to.destroyed) to.write(b);
      });
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  /** Reset every open connection but keep accepting new ones (a dropped link that comes back). */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === 'drop') this.cut();
  }

  get connections(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    this.setMode('drop');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
