import { spawnSync } from 'node:child_process';
import { MissingToolError } from '../core/preflight.js';

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

/** Encoders, muxers and demuxers (input devices such as lavfi count as demuxers) a caller needs. */
export interface FfmpegNeeds {
  encoders?: string[];
  muxers?: string[];
  demuxers?: string[];
}

const lists = new Map<string, Record<'encoders' | 'muxers' | 'demuxers', Set<string>>>();

function features(bin: string): Record<'encoders' | 'muxers' | 'demuxers', Set<string>> {
  let f = lists.get(bin);
  if (f) return f;
  const ask = (what: string, re: RegExp) => {
    const r = spawnSync(bin, ['-hide_banner', `-${what}`], { encoding: 'utf8', timeout: 10_000 });
    return new Set([...(r.stdout ?? '').matchAll(re)].flatMap((m) => m[1]!.split(',')));
  };
  // `-encoders`: " V....D libx264   ..."; `-muxers`/`-demuxers`: "  E mp4   ..." / " D  lavfi ..."
  f = { encoders: ask('encoders', /^ [VASFXBD.]{6} (\S+)/gm), muxers: ask('muxers', /^ [ D][ E]d? +(\S+)/gm), demuxers: ask('demuxers', /^ [ D][ E]d? +(\S+)/gm) };
  lists.set(bin, f);
  return f;
}

/**
 * Fails with one sentence when `bin` lacks an encoder, muxer or demuxer the caller uses (a
 * minimal or foreign ffmpeg build), naming the Debian package whose ffmpeg has them all.
 */
export function requireFfmpeg(bin: string, needs: FfmpegNeeds): void {
  const have = features(bin);
  for (const kind of ['encoders', 'muxers', 'demuxers'] as const) {
    for (const name of needs[kind] ?? []) {
      if (!have[kind].has(name)) throw new MissingToolError(`ffmpeg ${kind.slice(0, -1)} ${name} (in ${bin})`, 'ffmpeg');
    }
  }
}
