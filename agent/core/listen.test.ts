import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { listenWithRetry } from './listen.js';
import { logger } from './log.js';

describe('listenWithRetry', () => {
  it('a busy port is retried with backoff and reported, then bound once freed', async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as net.AddressInfo).port;
    const server = net.createServer();
    const busy: number[] = [];
    let bound!: () => void;
    const listening = new Promise<void>((r) => (bound = r));
    const l = listenWithRetry(server, { port, host: '127.0.0.1', log: logger('test'), what: 'test server', minMs: 50, maxMs: 200, onBusy: (n) => busy.push(n), onListening: () => bound() });
    expect(await l.first).toBe(false);
    while (busy.length < 2) await new Promise((r) => setTimeout(r, 20));
    await new Promise<void>((r) => squatter.close(() => r()));
    await listening;
    expect((server.address() as net.AddressInfo).port).toBe(port);
    expect(busy.slice(0, 2)).toEqual([1, 2]);
    l.cancel();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('any other error is not retried: it rejects', async () => {
    const server = net.createServer();
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine
    const l = listenWithRetry(server, { port: 0, host: '192.0.2.1', log: logger('test'), what: 'test server' });
    await expect(l.first).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
  });
});
