import fs from 'node:fs';

/**
 * Just enough ISO BMFF (ISO/IEC 14496-12) for the recorder's fragmented MP4, in one place for
 * the recorder and the console:
 * - the recorder asks what a segment on disk really holds (inspectFmp4: whole fragments, where
 *   a cut file stops being valid) and keeps the valid prefix of a cut file (writeCompletePrefix);
 * - the console feeds segments to a browser: it splits a byte stream into top-level boxes, takes
 *   the init segment (ftyp + moov) and media fragments (moof + mdat), reads the codec string from
 *   avcC and tells whether a fragment starts with a sync sample.
 * Hand-written because only box headers and a handful of fixed fields of six box types are
 * needed: ffprobe cannot answer the recorder's question (on a file cut inside its first fragment
 * it still reports the duration the `moof` announces, for frames whose bytes never reached the
 * disk), and a demuxer library would parse every sample for nothing on each console poll.
 *
 * A frame is complete when its fragment is: a `moof` followed by an `mdat` that ends inside the
 * file. Everything up to the end of the last such `mdat` is a valid, playable file on its own
 * (the init segment `ftyp`+`moov` written first by `empty_moov`, then whole fragments).
 */
export interface Box {
  type: string;
  start: number;
  size: number;
  header: number;
}

/**
 * The header of the box at buf[at..to] (§4.2: 32-bit size; size 1 = 64-bit largesize follows;
 * size 0 = to the end of the file, returned as 0 for the caller to decide). Undefined when the
 * header itself is not all there.
 */
export function boxHeader(buf: Buffer, at: number, to: number): Omit<Box, 'start'> | undefined {
  if (at + 8 > to) return undefined;
  let size = buf.readUInt32BE(at);
  const type = buf.toString('latin1', at + 4, at + 8);
  let header = 8;
  if (size === 1) {
    if (at + 16 > to) return undefined;
    size = Number(buf.readBigUInt64BE(at + 8));
    header = 16;
  }
  return { type, size, header };
}

/** Complete boxes in buf[from..]; stops at the first box not yet fully present. */
export function boxesIn(buf: Buffer, from = 0, to = buf.length): Box[] {
  const out: Box[] = [];
  let at = from;
  for (;;) {
    const h = boxHeader(buf, at, to);
    // size 0 "runs to the end of the file": in a growing file we cannot know where that is
    if (!h || h.size === 0 || h.size < h.header || at + h.size > to) break;
    out.push({ ...h, start: at });
    at += h.size;
  }
  return out;
}

function child(buf: Buffer, parent: Box, type: string, skip = 0): Box | undefined {
  return boxesIn(buf, parent.start + parent.header + skip, parent.start + parent.size).find((b) => b.type === type);
}

function path(buf: Buffer, root: Box, types: string[]): Box | undefined {
  let b: Box | undefined = root;
  for (const t of types) {
    if (!b) return undefined;
    b = child(buf, b, t);
  }
  return b;
}

export interface InitInfo {
  /** RFC 6381 codec string for MediaSource: avc1.PPCCLL, or hvc1/hev1 (which browsers without a platform decoder refuse) */
  codec: string;
  timescale: number;
  width: number;
  height: number;
  /** trex defaults: used when a fragment's tfhd/trun carries none */
  defaultDuration: number;
  defaultFlags: number;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** Reads the video track of an init segment's moov. */
export function parseInit(buf: Buffer, moov: Box): InitInfo | undefined {
  const trak = child(buf, moov, 'trak');
  if (!trak) return undefined;
  const mdhd = path(buf, trak, ['mdia', 'mdhd']);
  const stsd = path(buf, trak, ['mdia', 'minf', 'stbl', 'stsd']);
  if (!mdhd || !stsd) return undefined;
  const v = buf[mdhd.start + mdhd.header];
  const timescale = buf.readUInt32BE(mdhd.start + mdhd.header + (v === 1 ? 20 : 12));
  // stsd: version/flags(4) entry_count(4), then sample entries
  const entry = boxesIn(buf, stsd.start + stsd.header + 8, stsd.start + stsd.size)[0];
  if (!entry) return undefined;
  // VisualSampleEntry: 6 reserved + 2 dref index + 16 predefined/reserved, then width, height (16 bit each)
  const width = buf.readUInt16BE(entry.start + entry.header + 24);
  const height = buf.readUInt16BE(entry.start + entry.header + 26);
  let codec = entry.type;
  // child boxes of a VisualSampleEntry begin 78 bytes into its body
  const cfg = boxesIn(buf, entry.start + entry.header + 78, entry.start + entry.size);
  const avcC = cfg.find((b) => b.type === 'avcC');
  const hvcC = cfg.find((b) => b.type === 'hvcC');
  if (avcC) {
    // AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1): version, then profile,
    // compatibility and level bytes, which RFC 6381 §3.3 writes as avc1.PPCCLL
    const p = avcC.start + avcC.header;
    codec = `${entry.type}.${hex2(buf[p + 1])}${hex2(buf[p + 2])}${hex2(buf[p + 3])}`;
  } else if (hvcC && hvcC.size >= hvcC.header + 13) {
    // HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) as the codecs parameter of
    // Annex E: hvc1.[A-C]<profile>.<compatibility flags bit-reversed, hex>.<L|H><level>.<constraint bytes, trailing zeros dropped>
    const p = hvcC.start + hvcC.header;
    const space = buf[p + 1] >> 6;
    const tier = (buf[p + 1] >> 5) & 1;
    const profile = buf[p + 1] & 0x1f;
    let compat = buf.readUInt32BE(p + 2);
    let rev = 0;
    for (let i = 0; i < 32; i++, compat >>>= 1) rev = ((rev << 1) | (compat & 1)) >>> 0;
    const constraints = [...buf.subarray(p + 6, p + 12)];
    while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
    codec = [
      `${entry.type}`,
      `${['', 'A', 'B', 'C'][space]}${profile}`,
      rev.toString(16).toUpperCase(),
      `${tier ? 'H' : 'L'}${buf[p + 12]}`,
      ...constraints.map((b) => b.toString(16).toUpperCase()),
    ].join('.');
  }
  let defaultDuration = 0;
  let defaultFlags = 0;
  const trex = path(buf, moov, ['mvex', 'trex']);
  if (trex) {
    const p = trex.start + trex.header + 4;
    defaultDuration = buf.readUInt32BE(p + 8);
    defaultFlags = buf.readUInt32BE(p + 16);
  }
  return { codec, timescale, width, height, defaultDuration, defaultFlags };
}

export interface FragmentInfo {
  /** the first sample is a sync sample (a keyframe): a viewer may start here */
  key: boolean;
  /** media duration of the fragment in seconds */
  seconds: number;
  /** decode time of the first sample (tfdt), seconds */
  baseSeconds: number;
}

const NON_SYNC = 0x10000;

/** Reads a moof: does its first sample carry a keyframe, and how long it lasts. */
export function parseMoof(buf: Buffer, moof: Box, init: InitInfo): FragmentInfo {
  const traf = child(buf, moof, 'traf');
  let key = false;
  let ticks = 0;
  let base = 0;
  if (traf) {
    let defDur = init.defaultDuration;
    let defFlags = init.defaultFlags;
    const tfhd = child(buf, traf, 'tfhd');
    if (tfhd) {
      const p = tfhd.start + tfhd.header;
      const flags = buf.readUInt32BE(p) & 0xffffff;
      let q = p + 8;
      if (flags & 0x1) q += 8;
      if (flags & 0x2) q += 4;
      if (flags & 0x8) (defDur = buf.readUInt32BE(q)), (q += 4);
      if (flags & 0x10) q += 4;
      if (flags & 0x20) defFlags = buf.readUInt32BE(q);
    }
    const tfdt = child(buf, traf, 'tfdt');
    if (tfdt) {
      const p = tfdt.start + tfdt.header;
      base = buf[p] === 1 ? Number(buf.readBigUInt64BE(p + 4)) : buf.readUInt32BE(p + 4);
    }
    const trun = child(buf, traf, 'trun');
    if (trun) {
      const p = trun.start + trun.header;
      const flags = buf.readUInt32BE(p) & 0xffffff;
      const count = buf.readUInt32BE(p + 4);
      let q = p + 8;
      if (flags & 0x1) q += 4;
      let first: number | undefined;
      if (flags & 0x4) (first = buf.readUInt32BE(q)), (q += 4);
      const per = (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) + (flags & 0x800 ? 4 : 0);
      for (let i = 0; i < count; i++) {
        let r = q + i * per;
        const dur = flags & 0x100 ? buf.readUInt32BE(r) : defDur;
        if (flags & 0x100) r += 4;
        if (flags & 0x200) r += 4;
        const sflags = flags & 0x400 ? buf.readUInt32BE(r) : defFlags;
        if (i === 0) key = ((first ?? sflags) & NON_SYNC) === 0;
        ticks += dur;
      }
    }
  }
  const ts = init.timescale || 1;
  return { key, seconds: ticks / ts, baseSeconds: base / ts };
}

export type Piece = { kind: 'init'; data: Buffer; info: InitInfo } | { kind: 'fragment'; data: Buffer; info: FragmentInfo };

/**
 * Incremental splitter for one growing file: push bytes as they are read, get back the init
 * segment once and each complete fragment (moof + its mdat) in order.
 */
export class Fmp4Splitter {
  private pending: Buffer = Buffer.alloc(0);
  private ftyp?: Buffer;
  private moof?: Buffer;
  init?: InitInfo;

  push(chunk: Buffer): Piece[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Piece[] = [];
    let used = 0;
    for (const b of boxesIn(this.pending)) {
      const data = this.pending.subarray(b.start, b.start + b.size);
      used = b.start + b.size;
      if (b.type === 'ftyp') this.ftyp = Buffer.from(data);
      else if (b.type === 'moov') {
        const moov = Buffer.from(data);
        this.init = parseInit(moov, { ...b, start: 0 });
        if (this.init) out.push({ kind: 'init', data: Buffer.concat([this.ftyp ?? Buffer.alloc(0), moov]), info: this.init });
      } else if (b.type === 'moof') this.moof = Buffer.from(data);
      else if (b.type === 'mdat' && this.moof && this.init) {
        const info = parseMoof(this.moof, { type: 'moof', start: 0, size: this.moof.length, header: 8 }, this.init);
        out.push({ kind: 'fragment', data: Buffer.concat([this.moof, data]), info });
        this.moof = undefined;
      }
    }
    this.pending = used ? Buffer.from(this.pending.subarray(used)) : this.pending;
    return out;
  }
}

export interface Fmp4Inspection {
  size: number;
  /** init segment (ftyp + moov) present and whole */
  header: boolean;
  /** whole moof+mdat pairs */
  fragments: number;
  /** bytes up to the end of the last whole box that keeps the file valid (0 when header is missing) */
  completeBytes: number;
  /** the file ends exactly at a box boundary after the last box (nothing cut) */
  intact: boolean;
  /**
   * media time covered by the whole fragments, seconds: from the first fragment's decode time to
   * the end of the last one's samples (tfdt + trun durations). Recovery dates a file with it,
   * instead of starting an ffprobe per file (which reads the same boxes).
   */
  durationSec: number;
  /** the init segment describes a video track (a sample entry with its codec) */
  video: boolean;
}

const HEADER_BYTES = 16;

export function inspectFmp4(file: string): Fmp4Inspection {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(HEADER_BYTES);
    let off = 0;
    let sawFtyp = false;
    let header = false;
    let fragments = 0;
    let completeBytes = 0;
    let pendingMoof = false;
    let intact = true;
    let init: InitInfo | undefined;
    let moof: Buffer | undefined;
    let first: number | undefined;
    let last = 0;
    // moov and moof are read whole (a few KB each; never the mdat's video bytes)
    const readBox = (at: number, n: number) => {
      const b = Buffer.allocUnsafe(n);
      fs.readSync(fd, b, 0, n, at);
      return b;
    };
    while (off < size) {
      const n = fs.readSync(fd, buf, 0, HEADER_BYTES, off);
      const h = boxHeader(buf, 0, n);
      const boxSize = h?.size === 0 ? size - off : (h?.size ?? 0);
      if (!h || boxSize < h.header || off + boxSize > size) {
        intact = false;
        break;
      }
      const type = h.type;
      const at = off;
      off += boxSize;
      if (type === 'ftyp') sawFtyp = true;
      else if (type === 'moov') {
        header = sawFtyp;
        if (header) completeBytes = off;
        if (boxSize <= 1 << 20) init = parseInit(readBox(at, boxSize), { type, start: 0, size: boxSize, header: h.header });
      } else if (type === 'moof') {
        pendingMoof = true;
        moof = init && boxSize <= 1 << 20 ? readBox(at, boxSize) : undefined;
      } else if (type === 'mdat' && pendingMoof) {
        pendingMoof = false;
        if (header) {
          fragments++;
          completeBytes = off;
          if (init && moof) {
            const f = parseMoof(moof, { type: 'moof', start: 0, size: moof.length, header: 8 }, init);
            first ??= f.baseSeconds;
            last = Math.max(last, f.baseSeconds + f.seconds);
          }
        }
      } else if (header && !pendingMoof) completeBytes = off; // trailing index boxes (mfra, sidx): part of a valid file
    }
    if (pendingMoof) intact = false;
    return { size, header, fragments, completeBytes: header ? completeBytes : 0, intact, durationSec: first === undefined ? 0 : last - first, video: !!init };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Copy the whole fragments of a cut file to `dest` (written to a temporary name, fsynced, then
 * renamed): byte for byte the original's first `completeBytes`, which is itself a valid fMP4.
 * The original is never changed.
 */
export function writeCompletePrefix(file: string, completeBytes: number, dest: string): void {
  const tmp = `${dest}.partial`;
  const src = fs.openSync(file, 'r');
  const out = fs.openSync(tmp, 'w', 0o640);
  try {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    let off = 0;
    while (off < completeBytes) {
      const n = fs.readSync(src, buf, 0, Math.min(buf.length, completeBytes - off), off);
      if (n <= 0) throw new Error(`${file} shrank while being repaired`);
      fs.writeSync(out, buf, 0, n);
      off += n;
    }
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(src);
    fs.closeSync(out);
  }
  fs.renameSync(tmp, dest);
}
