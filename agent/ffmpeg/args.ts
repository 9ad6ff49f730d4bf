/**
 * ffmpeg/ffprobe command lines. Pure functions, so the exact flags are unit-tested and the
 * reasons for each flag live in one place.
 */
export interface RecordArgsInput {
  url: string;
  transport: 'tcp' | 'udp';
  segmentSeconds: number;
  /** output pattern with one %05d for the segment number */
  outPattern: string;
  /** socket I/O timeout: ffmpeg gives up on a silent camera after this (seconds) */
  ioTimeoutSeconds: number;
  /** the segment list file (CSV), appended by ffmpeg as each segment closes */
  segmentList: string;
}

export function recordArgs(i: RecordArgsInput): string[] {
  return [
    // errors only: the last stderr line becomes the gap's detail, so it must be the cause,
    // not a benign timestamp warning
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    // why: without an I/O timeout ffmpeg can hang forever on a half-open TCP connection
    '-rtsp_transport',
    i.transport,
    '-timeout',
    String(Math.round(i.ioTimeoutSeconds * 1e6)),
    // why wall-clock timestamps: the segment list offsets then measure arrival time, which is
    // what "was this second recorded" means; a camera whose clock or frame rate lies cannot
    // stretch a 60 s segment to 72 s of claimed time (open-nvr#229)
    '-fflags',
    '+genpts+discardcorrupt',
    '-use_wallclock_as_timestamps',
    '1',
    '-i',
    i.url,
    // stream copy, video only: no transcoding cost; G.711 audio cannot go into MP4 anyway
    '-map',
    '0:v:0',
    '-c:v',
    'copy',
    '-an',
    '-f',
    'segment',
    '-segment_time',
    String(i.segmentSeconds),
    '-reset_timestamps',
    '1',
    // fragmented MP4: a kill -9 or power cut leaves a readable file up to the last fragment.
    // Fragments close at each keyframe or after 1 s, whichever is first (cameras with 4 s
    // GOPs exist), and flush_packets pushes each one to the kernel at once instead of keeping
    // it in ffmpeg's 32 KB write buffer (over a second of a low-bitrate stream), so a crash
    // loses at most about a second; measured ≤ 0.5 s with a 1 s GOP (bench).
    '-segment_format',
    'mp4',
    '-segment_format_options',
    'movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=1000000:flush_packets=1',
    // one CSV line per segment, appended (and flushed) the moment the segment is closed. A file,
    // not a pipe: it outlives the agent, so a restarted agent reopens it and indexes what an
    // ffmpeg that kept recording meanwhile closed (adoption, camera.ts)
    '-segment_list',
    i.segmentList,
    '-segment_list_type',
    'csv',
    i.outPattern,
  ];
}

/** Bare stream copy of the same stream to a file: the bench's baseline. */
export function bareCopyArgs(url: string, transport: 'tcp' | 'udp', out: string): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'warning',
    '-nostdin',
    '-rtsp_transport',
    transport,
    '-i',
    url,
    '-map',
    '0:v:0',
    '-c:v',
    'copy',
    '-an',
    '-f',
    'mp4',
    '-movflags',
    '+frag_keyframe+empty_moov+default_base_moof',
    '-y',
    out,
  ];
}

/**
 * A camera's stream copied to fragmented MP4 on stdout, for the console's live view of a sub
 * stream (no file, no transcoding): fragments of at most 0.5 s so the browser gets each soon.
 */
export function liveCopyArgs(url: string, transport: 'tcp' | 'udp'): string[] {
  const a = bareCopyArgs(url, transport, 'pipe:1');
  a.splice(a.indexOf('-y'), 0, '-frag_duration', '500000');
  // a camera that stops answering ends the copy (the feed reconnects while someone watches)
  return ['-timeout', '5000000', ...a];
}

/** ffprobe of a file: container duration and streams, as JSON. */
export function probeFileArgs(file: string): string[] {
  return ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file];
}

/**
 * ffprobe of a live stream for `seconds`: stream info plus one line per video packet
 * (pts_time, size, flags) so the keyframe interval and bitrate are measured, not believed.
 */
export function probeStreamArgs(url: string, transport: 'tcp' | 'udp', seconds: number, ioTimeoutSeconds = 5): string[] {
  return [
    '-v',
    'error',
    '-rtsp_transport',
    transport,
    '-timeout',
    String(Math.round(ioTimeoutSeconds * 1e6)),
    '-read_intervals',
    `%+${seconds}`,
    '-select_streams',
    'v:0',
    '-show_streams',
    '-show_entries',
    'packet=pts_time,dts_time,size,flags',
    '-print_format',
    'json',
    url,
  ];
}

/** One JPEG frame of a stream on stdout (snapshots for the simulated camera and the demo). */
export function snapshotArgs(url: string, transport: 'tcp' | 'udp' = 'tcp'): string[] {
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', '-rtsp_transport', transport, '-timeout', '5000000', '-i', url, '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1'];
}
