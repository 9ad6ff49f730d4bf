import fs from 'node:fs';

/**
 * What a fragmented MP4 segment really holds, read from its top-level box headers (ISO/IEC
 * 14496-12 §4.2: 32-bit size, size 1 = 64-bit largesize follows, size 0 = to the end of the
 * file). Hand-written because only the box headers are needed (a few reads per file), and
 * ffprobe cannot answer the question: on a file cut inside its first fragment it still reports
 * the duration the `moof` announces, for frames whose bytes never reached the disk.
 *
 * A frame is complete when its fragment is: a `moof` followed by an `mdat` that ends inside the
 * file. Everything up to the end of the last such `mdat` is a valid, playable file on its own
 * (the init segment `ftyp`+`moov` written first by `empty_moov`, then whole fragments).
 */
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
    while (off < size) {
      const n = fs.readSync(fd, buf, 0, HEADER_BYTES, off);
      if (n < 8) {
        intact = false;
        break;
      }
      let boxSize = buf.readUInt32BE(0);
      const type = buf.toString('latin1', 4, 8);
      if (boxSize === 1) {
        if (n < 16) {
          intact = false;
          break;
        }
        boxSize = Number(buf.readBigUInt64BE(8));
      } else if (boxSize === 0) boxSize = size - off;
      if (boxSize < 8 || off + boxSize > size) {
        intact = false;
        break;
      }
      off += boxSize;
      if (type === 'ftyp') sawFtyp = true;
      else if (type === 'moov') {
        header = sawFtyp;
        if (header) completeBytes = off;
      } else if (type === 'moof') pendingMoof = true;
      else if (type === 'mdat' && pendingMoof) {
        pendingMoof = false;
        if (header) {
          fragments++;
          completeBytes = off;
        }
      } else if (header && !pendingMoof) completeBytes = off; // trailing index boxes (mfra, sidx): part of a valid file
    }
    if (pendingMoof) intact = false;
    return { size, header, fragments, completeBytes: header ? completeBytes : 0, intact };
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
