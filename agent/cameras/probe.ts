import { probeStreamArgs } from '../ffmpeg/args.js';
import { runFfprobe } from '../ffmpeg/run.js';
import { CameraError } from './errors.js';

/**
 * What a stream really is, measured from its packets for a few seconds: codec, size, frame
 * rate, keyframe interval (sets the crash loss and the cut precision) and bitrate.
 */
export interface StreamProbe {
  codec?: string;
  profile?: string;
  width?: number;
  height?: number;
  fps?: number;
  keyframeIntervalSec?: number;
  keyframeIntervalMaxSec?: number;
  bitrateKbps?: number;
  measuredSec: number;
  packets: number;
}

interface FfPacket {
  pts_time?: string;
  dts_time?: string;
  size?: string;
  flags?: string;
}

export function analysePackets(packets: FfPacket[]): Pick<StreamProbe, 'fps' | 'keyframeIntervalSec' | 'keyframeIntervalMaxSec' | 'bitrateKbps' | 'measuredSec' | 'packets'> {
  // the first packet of an RTSP stream often has no timestamp: it is at the start (or at the previous one)
  let prev = 0;
  const at = packets.map((p) => {
    const v = Number(p.pts_time ?? p.dts_time ?? NaN);
    if (Number.isFinite(v)) prev = v;
    return Number.isFinite(v) ? v : prev;
  });
  const ts = at;
  const t0 = ts.length ? Math.min(...ts) : 0;
  const t1 = ts.length ? Math.max(...ts) : 0;
  const span = ts.length > 1 ? t1 - t0 : 0;
  const keys = packets
    .map((p, i) => (p.flags?.startsWith('K') ? at[i] : NaN))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const intervals = keys.slice(1).map((k, i) => k - keys[i]);
  const bytes = packets.reduce((s, p) => s + Number(p.size ?? 0), 0);
  const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    fps: span > 0 ? r((ts.length - 1) / span) : undefined,
    keyframeIntervalSec: intervals.length ? r(intervals.reduce((a, b) => a + b, 0) / intervals.length) : undefined,
    keyframeIntervalMaxSec: intervals.length ? r(Math.max(...intervals)) : undefined,
    bitrateKbps: span > 0 ? Math.round((bytes * 8) / span / 1000) : undefined,
    measuredSec: r(span),
    packets: packets.length,
  };
}

/**
 * ffprobe's last words about a stream it could not open, as a CameraError: its kind read from
 * ffprobe's own message (the only account of an RTSP refusal there is), the URL's password
 * masked (ffprobe prints the URL as given, credentials included).
 */
export function probeError(message: string, url: string): CameraError {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    /* not a URL: nothing to mask beyond the pattern */
  }
  let m = message.replace(/\/\/([^:/@\s]+):([^@\s]*)@/g, '//$1:***@');
  if (u?.password) m = m.split(decodeURIComponent(u.password)).join('***').split(u.password).join('***');
  const kind = /401|Unauthorized|authorization failed/i.test(m)
    ? 'auth'
    : /Connection refused|timed out|No route to host|Network is unreachable|Name or service not known|Host is down/i.test(m)
      ? 'unreachable'
      : 'protocol';
  return new CameraError(kind, m);
}

export async function probeStream(url: string, opts: { transport?: 'tcp' | 'udp'; seconds?: number; ffprobePath?: string } = {}): Promise<StreamProbe> {
  const seconds = opts.seconds ?? 6;
  let out: string;
  try {
    out = await runFfprobe(probeStreamArgs(url, opts.transport ?? 'tcp', seconds), { ffprobePath: opts.ffprobePath, timeoutMs: (seconds + 20) * 1000 });
  } catch (err) {
    throw probeError((err as Error).message, url);
  }
  const json = JSON.parse(out) as { streams?: Array<Record<string, unknown>>; packets?: FfPacket[] };
  const v = json.streams?.[0] ?? {};
  const a = analysePackets(json.packets ?? []);
  if (!a.keyframeIntervalSec && (json.packets ?? []).filter((p) => p.flags?.startsWith('K')).length < 2) {
    // fewer than two keyframes seen: the interval is at least the measured span
    a.keyframeIntervalMaxSec = a.measuredSec;
  }
  return { codec: v.codec_name as string | undefined, profile: v.profile as string | undefined, width: v.width as number | undefined, height: v.height as number | undefined, ...a };
}
