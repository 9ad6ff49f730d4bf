import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MultipartStream, boundaryOf, splitMultipart, type Part } from './multipart.js';

const part = (body: string, len = true) => `--myboundary\r\nContent-Type: text/plain\r\n${len ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}\r\n`;

function run(chunks: Buffer[]) {
  const parts: Part[] = [];
  let hb = 0;
  const m = new MultipartStream('myboundary', { part: (p) => parts.push(p), heartbeat: () => hb++ });
  for (const c of chunks) m.push(c);
  return { parts, hb };
}

describe('MultipartStream', () => {
  it('reads the boundary from the content type', () => {
    expect(boundaryOf('multipart/x-mixed-replace; boundary=myboundary')).toBe('myboundary');
    // RFC 2046 allows a boundary that begins with "--": it is kept as declared
    expect(boundaryOf('multipart/mixed; boundary="--abc"')).toBe('--abc');
  });

  it('same parts whatever the chunking (split and merged), with and without Content-Length', () => {
    const bodies = ['Code=AccessControl;action=Pulse;index=0;data={"UserID":"1","RecNo":5}', '{"a":"--not a boundary"}', 'x'.repeat(3000), ''];
    const stream = Buffer.from('preamble\r\n' + bodies.map((b, i) => part(b, i % 2 === 1)).join('') + 'Heartbeat\r\n' + part('tail'));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 30 }), (cuts) => {
        const pos = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let last = 0;
        for (const p of pos) chunks.push(stream.subarray(last, p)), (last = p);
        chunks.push(stream.subarray(last));
        const r = run(chunks);
        expect(r.parts.map((p) => p.body.toString())).toEqual([...bodies, 'tail']);
        expect(r.parts.every((p) => !p.truncated)).toBe(true);
        expect(r.hb).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('a truncated part (next boundary before Content-Length) is flagged and the stream resyncs', () => {
    const s = '--myboundary\r\nContent-Length: 500\r\n\r\nCode=Access;data={"Us' + '\r\n' + part('next');
    const r = run([Buffer.from(s)]);
    expect(r.parts.map((p) => [p.body.toString(), p.truncated])).toEqual([
      ['Code=Access;data={"Us', true],
      ['next', false],
    ]);
  });

  it('garbage between parts and a part without headers', () => {
    const r = run([Buffer.from('\x00\xff junk\r\n--myboundary\r\nCode=X;action=Pulse;index=0\r\n--myboundary\r\nContent-Length: 2\r\n\r\nok')]);
    expect(r.parts.map((p) => p.body.toString())).toEqual(['Code=X;action=Pulse;index=0', 'ok']);
  });

  it('splits a complete multipart/form-data push body', () => {
    const b = Buffer.from(
      '--B\r\nContent-Disposition: form-data; name="event_log"\r\n\r\n{"x":1}\r\n--B\r\nContent-Disposition: form-data; name="Picture"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\r\n--B--\r\n',
      'latin1',
    );
    const ps = splitMultipart(b, 'B');
    expect(ps.map((p) => p.headers['content-disposition'])).toEqual(['form-data; name="event_log"', 'form-data; name="Picture"; filename="p.jpg"']);
    expect(ps[0].body.toString()).toBe('{"x":1}');
  });
});
