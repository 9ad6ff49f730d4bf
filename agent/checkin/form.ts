import busboy from 'busboy';

/** One part of a multipart/form-data push. */
export interface FormPart {
  name: string;
  filename: string | null;
  mimeType: string;
  body: Buffer;
}

/** Why a form could not be read: the device may retry, so this is never answered as success. */
export class FormError extends Error {}

/**
 * Read a complete multipart/form-data body (a Hikvision HTTP host push: JSON `event_log` part +
 * picture) with busboy, the maintained parser of the Node ecosystem (RFC 7578 / RFC 2046: any
 * boundary it allows, including ones beginning with "--", quoted or not, LF-tolerant). Takes the
 * Content-Type and the body bytes, not a request, so any HTTP server can call it.
 * Rejects with FormError when the body is not a complete form (no closing delimiter, no part,
 * a part over `maxPartBytes`).
 */
export function readForm(contentType: string | undefined, body: Buffer, maxPartBytes = 8 * 1024 * 1024): Promise<FormPart[]> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: { 'content-type': contentType ?? '' }, limits: { fieldSize: maxPartBytes, fileSize: maxPartBytes, parts: 64 }, defParamCharset: 'utf8', defCharset: 'latin1' });
    } catch (err) {
      return reject(new FormError(`not multipart/form-data: ${(err as Error).message}`));
    }
    const parts: FormPart[] = [];
    const pending: Promise<void>[] = [];
    let failed: Error | undefined;
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) failed ??= new FormError(`part "${name}" over ${maxPartBytes} bytes`);
      parts.push({ name, filename: null, mimeType: info.mimeType, body: Buffer.from(value, 'latin1') }); // latin1 round-trips the bytes: GBK or UTF-8 is decided later
    });
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      pending.push(
        new Promise<void>((done) => {
          stream.on('data', (d: Buffer) => chunks.push(d));
          stream.on('limit', () => (failed ??= new FormError(`part "${name}" over ${maxPartBytes} bytes`)));
          stream.on('close', () => {
            parts.push({ name, filename: info.filename ?? null, mimeType: info.mimeType, body: Buffer.concat(chunks) });
            done();
          });
        }),
      );
    });
    bb.on('partsLimit', () => (failed ??= new FormError('more than 64 parts')));
    bb.on('error', (err: Error) => reject(new FormError(`multipart body unreadable: ${err.message}`)));
    bb.on('close', () => {
      void Promise.all(pending).then(() => {
        if (failed) return reject(failed);
        if (!parts.length) return reject(new FormError('multipart body without any part'));
        resolve(parts);
      });
    });
    bb.end(body);
  });
}
