/**
 * Baseline for the check-in bench: a bare node:http server that reads each body and answers
 * what the agent would (`OK: n` / a small JSON) without storing anything. Prints {"port":N}.
 */
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    const text = req.url?.startsWith('/iclock/')
      ? `OK: ${
          body
            .toString()
            .split('\n')
            .filter((l) => l.trim()).length
        }`
      : '{"stored":1,"duplicates":0}';
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
