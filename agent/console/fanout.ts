import type { Logger } from 'pino';
import type { FragmentInfo, InitInfo, Piece } from '../recorder/fmp4.js';

/** What a live viewer receives, in order: an init segment, then fragments (a new init when the recorder opens its next segment). */
export type LiveMessage =
  | { kind: 'init'; codec: string; width: number; height: number; data: Buffer /** the camera's recorded stream, or its sub stream */; source: 'main' | 'sub' }
  | { kind: 'fragment'; key: boolean; seconds: number /** wall-clock ms when the box read the fragment's last byte */; readAt: number; data: Buffer };

export type Viewer = (m: LiveMessage) => void;

const MAX_GOP_BYTES = 16 * 1024 * 1024;

/**
 * What every live source shares: viewers, the init segment, the fragments since the last
 * keyframe (a joiner's first picture) and the fan-out. A source feeds it pieces of fMP4.
 */
export abstract class Fanout {
  protected viewers = new Set<Viewer>();
  protected init?: { info: InitInfo; data: Buffer };
  private gop: Array<Extract<LiveMessage, { kind: 'fragment' }>> = [];
  private gopBytes = 0;
  /** true while a joiner's backlog is read: nothing is sent, the GOP is kept */
  protected quiet = false;
  protected source: 'main' | 'sub' = 'main';
  /** fragments read since the feed started (for tests and the bench) */
  fragments = 0;

  constructor(
    readonly camera: string,
    protected log: Logger,
  ) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  get codec(): string | undefined {
    return this.init?.info.codec;
  }

  protected abstract open(): void;
  abstract close(): void;

  add(v: Viewer): () => void {
    this.viewers.add(v);
    if (this.init) this.greet(v);
    this.open();
    return () => {
      this.viewers.delete(v);
      if (!this.viewers.size) this.close();
    };
  }

  protected greet(v: Viewer): void {
    if (!this.init) return;
    v({ kind: 'init', codec: this.init.info.codec, width: this.init.info.width, height: this.init.info.height, data: this.init.data, source: this.source });
    for (const f of this.gop) v(f);
  }

  protected forget(): void {
    this.init = undefined;
    this.gop = [];
    this.gopBytes = 0;
  }

  protected piece(p: Piece, readAt: number): void {
    if (p.kind === 'init') {
      this.init = { info: p.info, data: p.data };
      this.gop = [];
      this.send({ kind: 'init', codec: p.info.codec, width: p.info.width, height: p.info.height, data: p.data, source: this.source });
    } else this.fragment(p.info, p.data, readAt);
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

  protected send(m: LiveMessage): void {
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
