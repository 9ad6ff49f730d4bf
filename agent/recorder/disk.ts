import fs from 'node:fs';

/** Free bytes for an unprivileged writer on the filesystem holding `dir`; Infinity if unknown. */
export function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return Infinity;
  }
}

export const isDiskFullText = (s: string) => /No space left on device|ENOSPC|Disk quota exceeded/i.test(s);
