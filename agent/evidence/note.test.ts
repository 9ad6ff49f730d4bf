import { describe, expect, it } from 'vitest';
import { checkpointTime, formatCheckpoint, generateSigner, openNote, parseCheckpoint, parseSignerKey, parseVerifierKey, signNote } from './note.js';

// golang.org/x/mod/sumdb/note's documented example: key pair, text and signature. Ed25519 is
// deterministic (RFC 8032), so signing the text must give the published line byte for byte.
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const NOTE = `${TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
// C2SP signed-note's own example
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE = 'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

describe('signed notes', () => {
  it('reproduces the Go reference signature and key id byte for byte', () => {
    const s = parseSignerKey(SKEY);
    expect(s.vkey).toBe(VKEY);
    expect(signNote(TEXT, s)).toBe(NOTE);
    expect(openNote(NOTE, [parseVerifierKey(VKEY)])).toEqual({ text: TEXT, verified: ['PeterNeumann'], unknown: 0 });
  });

  it('opens the C2SP spec example', () => {
    expect(openNote(SPEC_NOTE, [parseVerifierKey(SPEC_VKEY)]).verified).toEqual(['example.com/foo']);
  });

  it('refuses mangled keys, altered text and forged signatures', () => {
    const b = [...VKEY];
    for (let i = 0; i < b.length; i++) {
      const m = [...b];
      m[i] = String.fromCharCode(m[i].charCodeAt(0) + 1);
      expect(() => parseVerifierKey(m.join('')), m.join('')).toThrow();
    }
    const v = parseVerifierKey(VKEY);
    expect(() => openNote(NOTE.replace('cryptography', 'cryptographY'), [v])).toThrow(/invalid signature/);
    expect(() => openNote(NOTE.replace('ZInNIu', 'ZInNIv'), [v])).toThrow(/invalid signature/);
    // a changed key id is another key's signature: ignored, so not verified
    expect(openNote(NOTE.replace('x08go', 'x08gp'), [v]).verified).toEqual([]);
    // signed by another key of the same name: not a valid signature of this key (unknown id)
    const other = generateSigner('PeterNeumann').signer;
    expect(openNote(signNote(TEXT, other), [v])).toMatchObject({ verified: [], unknown: 1 });
  });

  it('checkpoints round-trip and refuse malformed bodies', () => {
    const c = { origin: 'example.org/box/b1', size: 12, root: Buffer.alloc(32, 7), extensions: ['time 1700000000000'] };
    const body = formatCheckpoint(c);
    expect(body).toBe(`example.org/box/b1\n12\n${Buffer.alloc(32, 7).toString('base64')}\ntime 1700000000000\n`);
    expect(parseCheckpoint(body)).toEqual(c);
    expect(checkpointTime(parseCheckpoint(body))).toBe(1700000000000);
    for (const bad of [
      'x\n12\n',
      'x\n012\nAA==\n',
      `x\n-1\n${Buffer.alloc(32).toString('base64')}\n`,
      `x\n1\n${Buffer.alloc(31).toString('base64')}\n`,
      `x\n1\n${Buffer.alloc(32).toString('base64')}`,
    ])
      expect(() => parseCheckpoint(bad), bad).toThrow();
  });
});
