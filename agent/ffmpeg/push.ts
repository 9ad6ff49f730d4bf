/**
 * Arguments of a live push: a camera's RTSP stream, stream-copied (no decode, no encode) to a
 * media server. Video only: RTMP/FLV carries AAC or G.711 at best and cameras send many audio
 * formats; an inspector watches the room. `-t` bounds the push inside ffmpeg itself, so a push
 * ends on time even if the agent is gone. Progress goes to stderr (pipe:2) for the bandwidth count.
 */
export function pushArgs(input: string, transport: 'tcp' | 'udp', target: string, seconds: number): string[] {
  const out = /^rtsps?:/.test(target) ? ['-f', 'rtsp', '-rtsp_transport', 'tcp'] : ['-f', 'flv', '-flvflags', 'no_duration_filesize'];
  return [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-progress',
    'pipe:2',
    '-rtsp_transport',
    transport,
    // why: a supervisor waits for the first picture (target 5 s); ffmpeg's default probing reads
    // up to 5 s of the camera and many frames to guess a frame rate that a stream copy never
    // uses. The codec parameters come from the RTSP SDP and the first keyframe within 1 s.
    '-analyzeduration',
    '1000000',
    '-fpsprobesize',
    '0',
    '-i',
    input,
    '-map',
    '0:v:0',
    '-an',
    '-c',
    'copy',
    '-t',
    String(seconds),
    ...out,
    target,
  ];
}

/** One `-progress` block's numbers, from the lines it printed so far (key=value). */
export interface PushProgress {
  bytes: number;
  outTimeMs: number;
  ended: boolean;
}

export function parseProgress(line: string, into: PushProgress): boolean {
  const m = /^(total_size|out_time_us|progress)=(.*)$/.exec(line.trim());
  if (!m) return false;
  if (m[1] === 'total_size') into.bytes = Number(m[2]) || into.bytes;
  else if (m[1] === 'out_time_us') into.outTimeMs = Math.round((Number(m[2]) || 0) / 1000);
  else into.ended = m[2] === 'end';
  return m[1] === 'progress';
}
