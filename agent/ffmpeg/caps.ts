import { spawnSync } from 'node:child_process';

/**
 * What a given ffmpeg/ffprobe binary understands. The static build shipped by
 * @ffmpeg-installer (2018, 4.x) reads RTSP `-timeout` as "wait for an incoming connection"
 * (listen mode!) and calls the socket timeout `-stimeout`; ffmpeg ≥ 5 renamed it `-timeout`.
 * Asked once per binary.
 */
const cache = new Map<string, string>();

export function rtspTimeoutFlag(bin: string): '-timeout' | '-stimeout' {
  let help = cache.get(bin);
  if (help === undefined) {
    const r = spawnSync(bin, ['-hide_banner', '-h', 'demuxer=rtsp'], { encoding: 'utf8', timeout: 10_000 });
    help = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    cache.set(bin, help);
  }
  return /-stimeout\b/.test(help) ? '-stimeout' : '-timeout';
}

/** Replace `-timeout` by what this binary calls the socket I/O timeout. */
export function adaptArgs(bin: string, args: string[]): string[] {
  if (rtspTimeoutFlag(bin) === '-timeout') return args;
  return args.map((a) => (a === '-timeout' ? '-stimeout' : a));
}
