import fs from 'node:fs';
import type http from 'node:http';

/**
 * Send a file with byte ranges (RFC 9110 §14), so a player may fetch parts of it: a browser's
 * <video> seeks in an MP4 with Range requests. The caller has set its own headers (security,
 * Content-Type) and checked the file's size. Shared by the box's console and the central's
 * supervisor view.
 */
export function sendRange(req: http.IncomingMessage, res: http.ServerResponse, file: string, size: number): void {
  res.setHeader('Accept-Ranges', 'bytes');
  const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  let start = 0;
  let end = size - 1;
  if (m && (m[1] || m[2])) {
    if (m[1]) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    } else start = Math.max(0, size - Number(m[2])); // a suffix range: the last N bytes
    if (start > end || start >= size) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1 });
  } else res.writeHead(200, { 'Content-Length': size });
  fs.createReadStream(file, { start, end })
    .on('error', () => res.destroy())
    .pipe(res);
}
