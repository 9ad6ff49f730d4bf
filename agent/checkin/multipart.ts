export interface Part {
  headers: Record<string, string>;
  body: Buffer;
  /** the part ended early (next boundary before Content-Length bytes) or was cut at the size limit */
  truncated: boolean;
}

export interface MultipartSink {
  part(p: Part): void;
  /** bytes outside any part that say "Heartbeat" (Dahua), or other garbage between parts */
  heartbeat?(): void;
  garbage?(bytes: number): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

/**
 * The boundary of a multipart Content-Type, without quotes, exactly as declared. RFC 2046 §5.1.1
 * allows a boundary that itself begins with "--" (curl and several firmwares use one): the
 * delimiter line is then "----…". Stripping those dashes lost such pushes.
 */
export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

function parseHeaders(block: string): Record<string, string> | undefined {
  const lines = block.split(/\r?\n/).filter((l) => l.length);
  if (!lines.length || !lines.every((l) => /^[A-Za-z0-9-]+\s*:/.test(l))) return undefined;
  const h: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return h;
}

/**
 * Hand-written on purpose, for endless event streams only (HTTP pushes go through busboy, see
 * form.ts): busboy and its kin parse one finite multipart/form-data body and fail it on the first
 * malformed part, while a Dahua/Hikvision stream is multipart/x-mixed-replace without end, with
 * "Heartbeat" text between parts, parts cut short by the firmware, and must resynchronise.
 *
 * Incremental multipart parser for endless event streams (Hikvision alertStream, Dahua attach).
 * Works on bytes, never on lines: a part may arrive in many TCP chunks, several parts may arrive
 * in one, and a part may be truncated (the next boundary appears before Content-Length bytes,
 * seen on Dahua firmware). It resynchronises on the next boundary after any garbage.
 * Bounded: a part larger than maxPartBytes is cut and flagged, the buffer never grows beyond it.
 */
export class MultipartStream {
  private buf: Buffer = Buffer.alloc(0);
  private delim: Buffer;
  private state: 'seek' | 'headers' | 'body' = 'seek';
  private headers: Record<string, string> = {};

  constructor(
    boundary: string,
    private sink: MultipartSink,
    private maxPartBytes = 1_048_576,
  ) {
    // a declared boundary that already begins with "--" is matched with or without the RFC's
    // extra two dashes (streams seen both ways): search for the boundary itself, then swallow
    // two dashes in front of it if present
    this.delim = Buffer.from(boundary.startsWith('--') ? boundary : `--${boundary}`);
    this.bare = boundary.startsWith('--');
  }

  private bare: boolean;

  /** where the next delimiter starts (including RFC dashes in front of a "--" boundary), or -1 */
  private find(from = 0): number {
    const i = this.buf.indexOf(this.delim, from);
    if (i < 0 || !this.bare) return i;
    return i >= 2 && this.buf[i - 1] === 0x2d && this.buf[i - 2] === 0x2d ? i - 2 : i;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.step()) {
      /* consume as much as possible */
    }
  }

  private discard(upTo: number): void {
    if (upTo <= 0) return;
    const junk = this.buf.subarray(0, upTo);
    if (junk.includes('Heartbeat')) this.sink.heartbeat?.();
    else if (junk.toString('latin1').trim().length) this.sink.garbage?.(junk.length);
    this.buf = this.buf.subarray(upTo);
  }

  private step(): boolean {
    if (this.state === 'seek') {
      const found = this.find();
      const i = found < 0 ? -1 : this.buf.indexOf(this.delim, found);
      if (i < 0) {
        // keep a tail that could be the start of a boundary split across chunks
        const keep = Math.min(this.buf.length, this.delim.length + 1);
        const nl = this.buf.lastIndexOf('\n', this.buf.length - keep - 1);
        this.discard(nl >= 0 ? nl + 1 : this.buf.length > this.maxPartBytes ? this.buf.length - keep : 0);
        return false;
      }
      this.discard(i);
      const after = this.delim.length;
      if (this.buf.length < after + 2) return false;
      if (this.buf.subarray(after, after + 2).toString() === '--') {
        this.buf = this.buf.subarray(after + 2); // closing delimiter; streams may still continue
        return true;
      }
      const eol = this.buf.indexOf('\n', after);
      if (eol < 0) {
        if (this.buf.length > after + 200) this.buf = this.buf.subarray(after); // not a boundary line
        return false;
      }
      this.buf = this.buf.subarray(eol + 1);
      this.state = 'headers';
      return true;
    }
    if (this.state === 'headers') {
      const a = this.buf.indexOf(CRLFCRLF);
      const b = this.buf.indexOf(LFLF);
      const end = a >= 0 && (b < 0 || a < b) ? [a, 4] : b >= 0 ? [b, 2] : null;
      // a part without headers (some firmware): body starts right after the boundary line
      const firstLine = this.buf.subarray(0, Math.max(0, this.buf.indexOf('\n'))).toString('latin1');
      if (this.buf.indexOf('\n') >= 0 && !/^[A-Za-z0-9-]+\s*:/.test(firstLine)) {
        this.headers = {};
        this.state = 'body';
        return true;
      }
      if (!end) {
        if (this.buf.length > 16_384) this.state = 'seek';
        return false;
      }
      const h = parseHeaders(this.buf.subarray(0, end[0]).toString('latin1'));
      this.headers = h ?? {};
      if (h) this.buf = this.buf.subarray(end[0] + end[1]);
      this.state = 'body';
      return true;
    }
    // body
    const len = Number(this.headers['content-length']);
    const next = this.find();
    if (Number.isInteger(len) && len >= 0 && len <= this.maxPartBytes) {
      if (next >= 0 && next < len) return this.emit(this.trimEol(this.buf.subarray(0, next)), true, next);
      if (this.buf.length < len) return false;
      return this.emit(this.buf.subarray(0, len), false, len);
    }
    if (next >= 0) return this.emit(this.trimEol(this.buf.subarray(0, next)), false, next);
    if (this.buf.length > this.maxPartBytes) return this.emit(this.buf.subarray(0, this.maxPartBytes), true, this.maxPartBytes);
    return false;
  }

  private trimEol(b: Buffer): Buffer {
    let e = b.length;
    if (e && b[e - 1] === 0x0a) e--;
    if (e && b[e - 1] === 0x0d) e--;
    return b.subarray(0, e);
  }

  private emit(body: Buffer, truncated: boolean, consumed: number): boolean {
    const part = { headers: this.headers, body: Buffer.from(body), truncated };
    this.buf = this.buf.subarray(consumed);
    this.state = 'seek';
    this.headers = {};
    this.sink.part(part);
    return true;
  }
}

/** Split a complete multipart body (an HTTP push) into its parts. */
export function splitMultipart(body: Buffer, boundary: string): Part[] {
  const parts: Part[] = [];
  const m = new MultipartStream(boundary, { part: (p) => parts.push(p) }, body.length + 1);
  m.push(body);
  m.push(Buffer.from(`\r\n--${boundary}--\r\n`)); // flush a last part left without a closing boundary
  return parts;
}
