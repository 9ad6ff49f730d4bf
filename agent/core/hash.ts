import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';

const CHUNK = 1024 * 1024;
/**
 * Read buffers kept between calls: a fresh 1 MB buffer per segment is external memory that
 * prompts a GC each time (seen in the recorder's profile); concurrent calls (several cameras
 * closing segments at once) each take their own, and at most two are kept.
 */
const free: Buffer[] = [];

/**
 * SHA-256 and size of a file. Every segment is hashed when it is indexed (and again by
 * retention and doctor), so this runs on the recorder's hot path: large reads into one buffer
 * per call instead of a read stream's 64 KB chunks cut the JS and GC work per segment several
 * times (measured by `npm run bench -- recorder`: the agent's own CPU beside bare ffmpeg).
 */
export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  const fh = await fs.open(file, 'r');
  try {
    const buf = free.pop() ?? Buffer.allocUnsafe(CHUNK);
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    if (free.length < 2) free.push(buf);
    return { sha256: h.digest('hex'), bytes };
  } finally {
    await fh.close();
  }
}
