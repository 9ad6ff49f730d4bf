import http from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * A small HTTP/1.1 client for the simulators. `chunks` > 1 writes the body in that many pieces
 * with a pause between them, so the server sees the body split across TCP segments.
 */
export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; chunks?: number; agent?: http.Agent; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
    const req = http.request(url, {
      method: opts.method ?? (body ? 'POST' : 'GET'),
      headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...opts.headers },
      agent: opts.agent,
      timeout: opts.timeoutMs ?? 10_000,
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    if (!body) return void req.end();
    const n = Math.max(1, Math.min(opts.chunks ?? 1, body.length));
    if (n === 1) return void req.end(body);
    const size = Math.ceil(body.length / n);
    let i = 0;
    const next = () => {
      if (i >= body.length) return void req.end();
      req.write(body.subarray(i, i + size));
      i += size;
      setTimeout(next, 2);
    };
    next();
  });
}
