/**
 * The hostile side of `npm run bench -- edge`, in a process of its own: `node edge-attacker.js
 * <port> <count>` opens `count` unauthenticated connections from 127.0.0.2 and up, each pushing a
 * 1 MB body, and prints {"answered":N,"reset":M}. Why a separate process: the valid clients that
 * measure latency must not share an event loop with 1 GB of hostile writes (they would measure
 * their own process, not the server).
 */
import net from 'node:net';

const [port, count] = process.argv.slice(2).map(Number);
const MB = 1_048_576;
const body = Buffer.alloc(MB, 0x61);

function hostile(i: number): Promise<'answered' | 'reset'> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.${Math.floor(i / 25 / 250)}.${(Math.floor(i / 25) % 250) + 2}` });
    let got = '';
    const answered = () => /^HTTP\/1\.1 \d{3}/.test(got);
    const end = () => {
      s.destroy();
      resolve(answered() ? 'answered' : 'reset');
    };
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (answered()) end();
    });
    s.on('error', end);
    s.on('close', end);
    s.on('connect', () => {
      s.write(`POST /api/v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: ${MB}\r\n\r\n`);
      s.write(body);
    });
  });
}

const r = await Promise.all(Array.from({ length: count }, (_, i) => hostile(i)));
process.stdout.write(`${JSON.stringify({ answered: r.filter((x) => x === 'answered').length, reset: r.filter((x) => x === 'reset').length })}\n`);
