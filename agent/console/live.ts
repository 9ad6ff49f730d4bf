import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { Fanout, type Viewer } from './fanout.js';
import { Fmp4Splitter } from '../recorder/fmp4.js';
import { SubStreamFeed, type SubSource } from './substream.js';

export type { LiveMessage, Viewer } from './fanout.js';

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
export class LiveFeed extends Fanout {
  private timer?: NodeJS.Timeout;
  private file?: string;
  private fd?: number;
  private offset = 0;
  private splitter = new Fmp4Splitter();
  private idlePolls = 0;
  private buf = Buffer.alloc(1 << 20);

  constructor(
    camera: string,
    private cameraDir: string,
    log: Logger,
    private pollMs = 100,
  ) {
    super(camera, log);
  }

  protected open(): void {
    if (!this.timer) {
      this.poll();
      this.timer = setInterval(() => this.poll(), this.pollMs);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closeFile();
    this.forget();
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
      for (const p of this.splitter.push(Buffer.from(this.buf.subarray(0, n)))) this.piece(p, readAt);
      if (n < this.buf.length) break;
    }
    if (any) this.idlePolls = 0;
    return any;
  }
}

/** H.265 in either sample entry form (ISO/IEC 14496-15): no MSE decoder in Chromium without a platform one. */
export const isHevc = (codec: string) => /^(hvc1|hev1)\b/.test(codec);

/** One feed per camera, made on first use; a sub stream feed per camera when one is needed. */
export class LiveHub {
  private feeds = new Map<string, LiveFeed>();
  private subs = new Map<string, SubStreamFeed>();
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

  /**
   * A viewer of a camera: the recorder's own fragments, unless they are H.265 and the camera
   * has a sub stream, in which case the viewer moves to the (shared, on-demand) sub stream feed.
   * Without a sub stream the viewer gets the H.265 init, and the page explains the fix.
   */
  watch(camera: string, v: Viewer, sub?: SubSource): () => void {
    let leaveMain: (() => void) | undefined;
    let leaveSub: (() => void) | undefined;
    let moved = false;
    leaveMain = this.feed(camera).add((m) => {
      if (moved) return;
      if (m.kind === 'init' && sub && isHevc(m.codec)) {
        moved = true;
        // leave the main feed after its send loop (we are inside it); it stops reading when idle
        queueMicrotask(() => {
          leaveMain?.();
          leaveMain = undefined;
        });
        let f = this.subs.get(camera);
        if (!f) this.subs.set(camera, (f = new SubStreamFeed(camera, this.log, sub)));
        leaveSub = f.add(v);
        return;
      }
      v(m);
    });
    return () => {
      leaveMain?.();
      leaveSub?.();
      leaveMain = leaveSub = undefined;
    };
  }

  /** the camera's sub stream feed, if one was ever opened (tests, the bench) */
  subFeed(camera: string): SubStreamFeed | undefined {
    return this.subs.get(camera);
  }

  close(): void {
    for (const f of this.feeds.values()) f.close();
    for (const f of this.subs.values()) f.close();
  }
}
