import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { Fmp4Splitter, type FragmentInfo, type InitInfo } from '../recorder/fmp4.js';

/** What a live viewer receives, in order: an init segment, then fragments (a new init when the recorder opens its next segment). */
export type LiveMessage =
  | { kind: 'init'; codec: string; width: number; height: number; data: Buffer }
  | { kind: 'fragment'; key: boolean; seconds: number /** wall-clock ms when the box read the fragment's last byte */; readAt: number; data: Buffer };

export type Viewer = (m: LiveMessage) => void;

const MAX_GOP_BYTES = 16 * 1024 * 1024;

/** The newest segment file under <video>/<camera>/<day>/, by name (= run start, then number). */
export function newestSegment(cameraDir: string): string | undefined {
  let days: string[];
  try {
    days = fs
      .readdirSync(cameraDir)
      .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))
      .sort();
  } catch {
    return undefined;
  }
  for (let i = days.length - 1; i >= 0; i--) {
    const dir = path.join(cameraDir, days[i]);
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.mp4'))
      .sort();
    if (files.length) return path.join(dir, files[files.length - 1]);
  }
  return undefined;
}

/**
 * One camera's live feed: tails the segment file the recorder is writing (fragmented MP4,
 * flushed per fragment) and fans each fragment out to every viewer. One reader per camera
 * whatever the number of viewers; nothing runs while nobody watches. A viewer joining gets the
 * init segment and the fragments since the last keyframe, so its first picture is immediate.
 * No second connection to the camera and no transcoding: these are the recorder's own bytes.
 */
export class LiveFeed {
  private viewers = new Set<Viewer>();
  private timer?: NodeJS.Timeout;
  private file?: string;
  private fd?: number;
  private offset = 0;
  private splitter = new Fmp4Splitter();
  private init?: { info: InitInfo; data: Buffer };
  private gop: Array<Extract<LiveMessage, { kind: 'fragment' }>> = [];
  private idlePolls = 0;
  private quiet = false;
  private gopBytes = 0;
  private buf = Buffer.alloc(1 << 20);
  /** fragments read since the feed started (for tests and the bench) */
  fragments = 0;

  constructor(
    readonly camera: string,
    private cameraDir: string,
    private log: Logger,
    private pollMs = 100,
  ) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  get codec(): string | undefined {
    return this.init?.info.codec;
  }

  add(v: Viewer): () => void {
    this.viewers.add(v);
    if (this.init) this.greet(v);
    if (!this.timer) {
      this.poll();
      this.timer = setInterval(() => this.poll(), this.pollMs);
    }
    return () => {
      this.viewers.delete(v);
      if (!this.viewers.size) this.close();
    };
  }

  private greet(v: Viewer): void {
    if (!this.init) return;
    v({ kind: 'init', codec: this.init.info.codec, width: this.init.info.width, height: this.init.info.height, data: this.init.data });
    for (const f of this.gop) v(f);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closeFile();
    this.init = undefined;
    this.gop = [];
  }

  private closeFile(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.file = undefined;
    this.offset = 0;
    this.splitter = new Fmp4Splitter();
  }

  private poll(): void {
    try {
      const grew = this.file ? this.readMore() : false;
      // why list only when idle: the current file stops growing when ffmpeg moves to the next
      // segment (or stops); listing the day folder on every poll would cost a readdir per 100 ms
      if (!grew && (this.idlePolls++ % 3 === 0 || !this.file)) {
        const newest = newestSegment(this.cameraDir);
        if (newest && newest !== this.file) {
          // a file named after the current one is the next segment: finish this one first
          const first = !this.file && !this.init;
          if (this.file) this.readMore();
          this.closeFile();
          this.file = newest;
          this.fd = fs.openSync(newest, 'r');
          // joining mid-segment: read what is there quietly, then hand out the init and the
          // fragments since the last keyframe, not the whole minute already recorded
          this.quiet = first;
          this.readMore();
          this.quiet = false;
          if (first && this.init) for (const v of this.viewers) this.greet(v);
        }
      }
    } catch (err) {
      this.log.warn({ camera: this.camera, err: (err as Error).message }, 'live feed read failed; retrying');
      this.closeFile();
    }
  }

  /** Reads what the recorder has added since the last poll; true when there was something. */
  private readMore(): boolean {
    if (this.fd === undefined) return false;
    let any = false;
    for (;;) {
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (n <= 0) break;
      any = true;
      this.offset += n;
      const readAt = Date.now();
      for (const p of this.splitter.push(Buffer.from(this.buf.subarray(0, n)))) {
        if (p.kind === 'init') {
          this.init = { info: p.info, data: p.data };
          this.gop = [];
          this.send({ kind: 'init', codec: p.info.codec, width: p.info.width, height: p.info.height, data: p.data });
        } else this.fragment(p.info, p.data, readAt);
      }
      if (n < this.buf.length) break;
    }
    if (any) this.idlePolls = 0;
    return any;
  }

  private fragment(info: FragmentInfo, data: Buffer, readAt: number): void {
    this.fragments++;
    const m = { kind: 'fragment' as const, key: info.key, seconds: info.seconds, readAt, data };
    if (info.key) (this.gop = [m]), (this.gopBytes = data.length);
    else if (this.gop.length) {
      this.gop.push(m);
      this.gopBytes += data.length;
      // a camera that stops sending keyframes must not grow the box's memory: joiners then wait
      // for the next keyframe instead
      if (this.gopBytes > MAX_GOP_BYTES) (this.gop = []), (this.gopBytes = 0);
    }
    this.send(m);
  }

  private send(m: LiveMessage): void {
    if (this.quiet) return;
    for (const v of this.viewers) {
      try {
        v(m);
      } catch (err) {
        this.log.warn({ camera: this.camera, err: (err as Error).message }, 'live viewer failed; dropped');
        this.viewers.delete(v);
      }
    }
  }
}

/** One feed per camera, made on first use. */
export class LiveHub {
  private feeds = new Map<string, LiveFeed>();
  constructor(
    private videoRoot: string,
    private log: Logger,
    private pollMs = 100,
  ) {}

  feed(camera: string): LiveFeed {
    let f = this.feeds.get(camera);
    if (!f) {
      f = new LiveFeed(camera, path.join(this.videoRoot, camera), this.log, this.pollMs);
      this.feeds.set(camera, f);
    }
    return f;
  }

  close(): void {
    for (const f of this.feeds.values()) f.close();
  }
}
