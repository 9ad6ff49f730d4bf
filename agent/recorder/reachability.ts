import net from 'node:net';

/**
 * Is the camera's RTSP service answering? One OPTIONS request on a fresh TCP connection; any
 * RTSP status line counts (even 401: the camera is there, the password is the problem).
 * Cheap enough to ask every half second while a camera is away, which is what lets recording
 * resume within a second or two of its return instead of after a long backoff.
 */
export function rtspAnswers(url: string, timeoutMs = 2000): Promise<boolean> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve(false);
  }
  const port = Number(u.port || 554);
  const host = u.hostname;
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => {
      // credentials stripped: OPTIONS needs none, and they must not travel needlessly
      const target = `${u.protocol}//${host}:${port}${u.pathname}${u.search}`;
      sock.write(`OPTIONS ${target} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: classroom-agent\r\n\r\n`);
    });
    sock.on('data', (b) => {
      buf += b.toString('latin1');
      if (/^RTSP\/1\.\d \d{3}/.test(buf)) done(true);
      else if (buf.length > 64) done(false);
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}
