import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256File } from './hash.js';

describe('sha256File', () => {
  it('hashes files empty, small and across the read-chunk boundary like a one-shot hash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-hash-'));
    try {
      for (const size of [0, 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 17]) {
        const data = Buffer.alloc(size, 0);
        for (let i = 0; i < size; i++) data[i] = (i * 7919) & 0xff;
        const f = path.join(dir, `f${size}`);
        fs.writeFileSync(f, data);
        expect(await sha256File(f)).toEqual({ sha256: createHash('sha256').update(data).digest('hex'), bytes: size });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects with the path when the file is missing', async () => {
    await expect(sha256File('/nonexistent/segment.mp4')).rejects.toThrow(/nonexistent\/segment\.mp4/);
  });
});
