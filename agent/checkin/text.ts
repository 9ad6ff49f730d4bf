/**
 * Text of a terminal's body. RFC 8259 §8.1 lets a JSON parser ignore a leading UTF-8 BOM, and
 * Chinese firmware may send names in GBK although the body claims (or implies) UTF-8: a body
 * that is not valid UTF-8 is read as GBK (a superset of GB2312) instead of turning 张三 into
 * replacement characters. An explicit charset parameter wins.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeText(body: Buffer, contentType?: string, opts: { gbk?: boolean } = {}): string {
  let b = body;
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
  const cs = /charset="?([A-Za-z0-9_-]+)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (cs && cs !== 'utf-8' && cs !== 'utf8') {
    try {
      return new TextDecoder(cs === 'gb2312' ? 'gbk' : cs).decode(b).replace(/^\uFEFF/, '');
    } catch {
      /* unknown label: fall through to detection */
    }
  }
  try {
    return utf8.decode(b);
  } catch {
    // software clients (the webhook) must send UTF-8 (RFC 8259 §8.1): no guessing for them
    return opts.gbk === false ? b.toString('utf8') : new TextDecoder('gbk').decode(b);
  }
}
