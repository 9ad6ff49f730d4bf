import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesToDescriptor, descriptorToBytes, loadOrCreateKey, open, seal } from './keyfile.js';

describe('face-data key and sealing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-key-'));

  it('creates a 32-byte key readable by the owner only, and reuses it', () => {
    const f = path.join(dir, 'sub', 'vision.key');
    const k = loadOrCreateKey(f);
    expect(k.length).toBe(32);
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKey(f).equals(k)).toBe(true);
  });

  it('refuses a key file others can read, saying how to fix it', () => {
    const f = path.join(dir, 'open.key');
    fs.writeFileSync(f, Buffer.alloc(32, 1), { mode: 0o644 });
    fs.chmodSync(f, 0o644);
    expect(() => loadOrCreateKey(f)).toThrow(/chmod 600/);
  });

  it('refuses a key of the wrong length', () => {
    const f = path.join(dir, 'short.key');
    fs.writeFileSync(f, Buffer.alloc(16, 1), { mode: 0o600 });
    expect(() => loadOrCreateKey(f)).toThrow(/32 bytes/);
  });

  it('round-trips a descriptor; a different AAD, key or a flipped bit fails', () => {
    const k = loadOrCreateKey(path.join(dir, 'k2.key'));
    const d = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i));
    const s = seal(k, descriptorToBytes(d), 'face-descriptor|S01|m1');
    expect(s.data.equals(descriptorToBytes(d))).toBe(false);
    expect(bytesToDescriptor(open(k, s, 'face-descriptor|S01|m1'))).toEqual(d);
    expect(() => open(k, s, 'face-descriptor|S02|m1')).toThrow();
    expect(() => open(Buffer.alloc(32, 7), s, 'face-descriptor|S01|m1')).toThrow();
    const bad = { ...s, data: Buffer.from(s.data) };
    bad.data[3]! ^= 1;
    expect(() => open(k, bad, 'face-descriptor|S01|m1')).toThrow();
  });
});
