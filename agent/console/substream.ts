import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { maskUrl } from '../core/log.js';
import { liveCopyArgs } from '../ffmpeg/args.js';
import { spawnFfmpegPipe } from '../ffmpeg/run.js';
import { Fmp4Splitter } from '../recorder/fmp4.js';
import { Fanout } from './fanout.js';

export interface SubSource {
  /**
   * the sub stream's RTSP URL with credentials, composed when a viewer comes (secrets may change;
   * an ONVIF camera is asked for its second profile then)
   */
  url: () => Promise<string>;
  transport: 'tcp' | 'udp';
  ffmpegPath?: string;
}

/**
 * A camera's sub stream for the live view, when the recorded main stream is H.265 (which
 * Chromium's MSE cannot decode). A second RTSP connection to the camera, made only while at
 * least one person watches and closed with the last viewer: cameras allow few sessions (often
 * 4-6, shared with the school's NVR), and an always-open sub stream would cost the camera's
 * uplink and the box's CPU for a picture nobody looks at. Stream copy, no transcoding; all
 * viewers share the one connection.
 */
export class SubStreamFeed extends Fanout {
  private child?: ChildProcess;
  private restart?: NodeJS.Timeout;
  private opening = false;
  private stderr = '';
  protected override source: 'main' | 'sub' = 'sub';

  constructor(
    camera: string,
    log: Logger,
    private src: SubSource,
  ) {
    super(camera, log);
  }

  get connected(): boolean {
    return !!this.child;
  }

  protected open(): void {
    if (this.child || this.restart || this.opening) return;
    this.opening = true;
    this.src.url().then(
      (url) => {
        this.opening = false;
        if (this.viewers.size && !this.child) this.spawn(url);
      },
      (err: Error) => {
        this.opening = false;
        // an ONVIF camera that does not answer now: try again while someone watches
        this.log.warn({ camera: this.camera, err: maskUrl(err.message) }, 'sub stream URL unknown; retrying');
        this.retryLater();
      },
    );
  }

  private retryLater(): void {
    if (!this.viewers.size || this.restart) return;
    this.restart = setTimeout(() => {
      this.restart = undefined;
      if (this.viewers.size) this.open();
    }, 2000);
    this.restart.unref();
  }

  private spawn(url: string): void {
    const splitter = new Fmp4Splitter();
    let child: ChildProcess;
    try {
      child = spawnFfmpegPipe(liveCopyArgs(url, this.src.transport), { ffmpegPath: this.src.ffmpegPath });
    } catch (err) {
      this.log.warn({ camera: this.camera, err: maskUrl((err as Error).message) }, 'sub stream not started');
      return;
    }
    this.child = child;
    this.stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const at = Date.now();
      for (const p of splitter.push(chunk)) this.piece(p, at);
    });
    child.stderr!.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString('utf8')).slice(-2000);
    });
    child.on('error', (err) => this.log.warn({ camera: this.camera, err: err.message }, 'sub stream failed'));
    child.on('exit', (code) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.forget();
      if (!this.viewers.size) return;
      // the camera dropped the sub stream while someone watches: try again shortly
      // (stderr may hold the camera's URL; only its last line, with credentials masked, is logged)
      const last = maskUrl(this.stderr.trim().split('\n').pop() ?? '');
      this.log.warn({ camera: this.camera, code, detail: last }, 'sub stream ended; reconnecting');
      this.retryLater();
    });
  }

  close(): void {
    if (this.restart) clearTimeout(this.restart);
    this.restart = undefined;
    const c = this.child;
    this.child = undefined;
    this.forget();
    if (c && c.exitCode === null) {
      c.kill('SIGTERM');
      setTimeout(() => c.exitCode === null && c.kill('SIGKILL'), 3000).unref();
    }
  }
}
