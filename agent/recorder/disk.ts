/** ffmpeg's and Node's ways of saying the disk is full (the free space itself: retention/disk.ts). */
export const isDiskFullText = (s: string) => /No space left on device|ENOSPC|Disk quota exceeded/i.test(s);
