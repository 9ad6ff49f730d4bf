/**
 * Fuzz at the parsers' edges, with generated inputs the standards allow: multipart boundaries of
 * any RFC 2046 bchars (including leading "--"), any chunking of a stream; encodings (UTF-8 with
 * and without BOM, GBK names); line endings (LF, CRLF, CR) and trailing NULs; ATTLOG rows with 2
 * to 8 fields, tabs or spaces; ISO times with "Z", "+08:00", "+0800" or no offset.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIso } from '../core/time.js';
import { readForm } from './form.js';
import { hikTime, parseHikEvent } from './hikvision/event.js';
import { MultipartStream, type Part } from './multipart.js';
import { decodeText } from './text.js';
import { parseWebhook } from './webhook/parse.js';
import { parseAttlog } from './zkteco/attlog.js';

const RUNS = 300;
const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?";
/** RFC 2046 §5.1.1: 1-70 bchars, the last not a space (we leave spaces out of quoted ones too) */
const boundaryArb = fc.string({ unit: fc.constantFrom(...BCHARS), minLength: 1, maxLength: 70 });
const jsonArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 5 }).map((o) => JSON.stringify(o));
const T0 = Date.parse('2026-10-04T00:30:00Z');

function chunks(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) out.push(buf.subarray(prev, c)), (prev = c);
  out.push(buf.subarray(prev));
  return out;
}

describe('multipart edges', () => {
  it('busboy reads a form under any RFC 2046 boundary, quoted or not, with preamble and epilogue', async () => {
    await fc.assert(
      fc.asyncProperty(boundaryArb, jsonArb, fc.boolean(), fc.string({ maxLength: 20 }), async (b, json, quoted, pre) => {
        const preamble = pre.replace(/-/g, '');
        const body = Buffer.from(`${preamble}\r\n--${b}\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\n\r\n${json}\r\n--${b}--\r\nepilogue`);
        const ct = `multipart/form-data; boundary=${quoted || /[^A-Za-z0-9'+_\-.]/.test(b) ? `"${b}"` : b}`;
        const parts = await readForm(ct, body);
        expect(parts.find((p) => p.name === 'event_log')?.body.toString('utf8')).toBe(json);
      }),
      { numRuns: RUNS },
    );
  });

  it('the stream parser yields the same parts under any boundary and any chunking', () => {
    fc.assert(
      fc.property(boundaryArb, fc.array(jsonArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (b, bodies, cuts, withLength) => {
        const wire = Buffer.concat(bodies.map((j) => Buffer.from(`--${b}\r\nContent-Type: application/json\r\n${withLength ? `Content-Length: ${Buffer.byteLength(j)}\r\n` : ''}\r\n${j}\r\n`)));
        const got: Part[] = [];
        const mp = new MultipartStream(b, { part: (p) => got.push(p) });
        for (const c of chunks(Buffer.concat([wire, Buffer.from(`--${b}\r\n`)]), cuts)) mp.push(c);
        expect(got.map((p) => p.body.toString('utf8'))).toEqual(bodies);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('encodings', () => {
  it('terminal text: UTF-8 with or without BOM and GBK decode to the same text; webhook JSON with a BOM parses', () => {
    const names = ['张三', '李四', '王小明', 'Zhang San', '欧阳娜娜'];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.boolean(), fc.constantFrom('utf8', 'gbk'), (name, bom, enc) => {
        const doc = JSON.stringify({ terminal: 'door', person: '1001', name, at: '2026-10-04T08:30:00+08:00' });
        const bytes = enc === 'utf8' ? Buffer.from(doc, 'utf8') : gbk(doc);
        const body = bom && enc === 'utf8' ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]) : bytes;
        expect(decodeText(body)).toBe(doc);
        // the webhook is software: UTF-8 only (RFC 8259 §8.1), BOM ignored
        if (enc === 'utf8') expect(parseWebhook(body, 'c').checkins[0]).toMatchObject({ person: '1001', name, at: T0 + 0 });
      }),
      { numRuns: 60 },
    );
  });
});

/** GBK bytes of a string (test-side encoder: TextEncoder only does UTF-8) */
let table: Map<string, Buffer> | undefined;
function gbk(s: string): Buffer {
  if (!table) table = gbkTable();
  return Buffer.concat([...s].map((c) => (c.charCodeAt(0) < 0x80 ? Buffer.from(c) : table!.get(c)!)));
}

function gbkTable(): Map<string, Buffer> {
  const table = new Map<string, Buffer>();
  const dec = new TextDecoder('gbk');
  for (let hi = 0x81; hi <= 0xfe; hi++) {
    for (let lo = 0x40; lo <= 0xfe; lo++) {
      if (lo === 0x7f) continue;
      const ch = dec.decode(Buffer.from([hi, lo]));
      if (!table.has(ch)) table.set(ch, Buffer.from([hi, lo]));
    }
  }
  return table;
}

describe('ATTLOG rows', () => {
  it('any line ending, NULs, 2-8 fields, tabs or spaces: valid rows counted once with the right time, bad rows rejected, never a throw', () => {
    const row = fc.record({
      pin: fc.oneof(fc.stringMatching(/^[A-Za-z0-9]{1,24}$/), fc.string({ maxLength: 6 })),
      offsetS: fc.integer({ min: 0, max: 86_399 }),
      extra: fc.array(fc.constantFrom('0', '1', '15', '255', ''), { maxLength: 6 }),
      sep: fc.constantFrom('\t', ' '),
      status: fc.constantFrom('0', '1', '5'),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 8 }), fc.constantFrom('\n', '\r\n', '\r'), fc.nat({ max: 3 }), (rows, eol, nuls) => {
        const text =
          rows
            .map((r) =>
              [
                r.pin,
                formatIso(T0 + r.offsetS * 1000, 'Asia/Shanghai')
                  .slice(0, 19)
                  .replace('T', ' '),
                r.status,
                ...r.extra,
              ].join(r.sep),
            )
            .join(eol) +
          eol +
          '\0'.repeat(nuls);
        const p = parseAttlog(Buffer.from(text), 'gate', 'SN1', 'Asia/Shanghai');
        const valid = rows.filter((r) => /^[A-Za-z0-9]{1,24}$/.test(r.pin.trim()) && r.pin === r.pin.trim() && r.pin.length > 0);
        expect(p.checkins.length + p.rejects.length + (p.events?.length ?? 0)).toBe(rows.filter((r) => [r.pin, 'x'].join(r.sep).trim() !== '').length);
        for (const r of valid) expect(p.checkins.some((c) => c.person === r.pin && c.at === T0 + r.offsetS * 1000)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('time formats', () => {
  it('Hikvision times with Z, +08:00, +0800 or no offset (terminal zone) give the same instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 365 * 24 * 3600 }), fc.constantFrom('Z', '+08:00', '+0800', '', ' '), fc.constantFrom('Asia/Shanghai', 'Asia/Urumqi', 'UTC'), (s, form, tz) => {
        const at = T0 + s * 1000;
        const iso =
          form === 'Z'
            ? new Date(at).toISOString().replace('.000', '')
            : form === '' || form === ' '
              ? formatIso(at, tz)
                  .slice(0, 19)
                  .replace('T', form === ' ' ? ' ' : 'T')
              : formatIso(at, 'Asia/Shanghai').replace('+08:00', form);
        const zone = form === '' || form === ' ' ? tz : 'Asia/Shanghai';
        expect(hikTime(iso, zone)?.[0]).toBe(at);
        const ev = JSON.stringify({
          dateTime: iso,
          eventType: 'AccessControllerEvent',
          AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: '1', currentVerifyMode: 'face', serialNo: 1 },
        });
        expect(parseHikEvent(Buffer.from(ev), 'h', zone).checkins[0]?.at).toBe(at);
      }),
      { numRuns: RUNS },
    );
  });
});
