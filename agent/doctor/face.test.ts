import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { faceCheck, selfTestPhoto } from './face.js';

/** The face check on the real face-api models and the real sample photo (wasm backend here). */
describe('doctor: face engine', () => {
  const env = (vision: Record<string, unknown>) => ({ cfg: configSchema.parse({ vision }), now: Date.now() });

  it('loads a backend, verifies the models against the manifest and finds the 3 faces of sample1.jpg, timed', async () => {
    expect(selfTestPhoto().faces).toBe(3);
    const r = await faceCheck.run(env({}));
    expect(r.status, r.detail).not.toBe('fail');
    expect(r.detail).toMatch(
      /^backend wasm \(tfjs-node not installed\), models verified \(\d+ files\), loaded in \d+ ms; self-test: 3 of 3 faces in sample1\.jpg at \d+x\d+ in \d+ ms \(first frame, includes warm-up\)$/,
    );
  }, 120_000);

  it('a detector threshold that loses the faces fails with the setting to fix', async () => {
    const r = await faceCheck.run(env({ minConfidence: 0.99 }));
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/self-test: [0-2] of 3 faces/);
    expect(r.fix!.en).toContain('vision.minConfidence (now 0.99');
  }, 120_000);

  it('asking for tfjs-node where it is not installed fails with the fix; vision off is skipped', async () => {
    const r = await faceCheck.run(env({ backend: 'tensorflow' }));
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('tfjs-node unavailable');
    expect(r.fix!.en).toContain('vision.backend to auto');
    expect(await faceCheck.run(env({ enabled: false }))).toMatchObject({ status: 'ok', detail: expect.stringContaining('vision disabled') });
  }, 60_000);
});
