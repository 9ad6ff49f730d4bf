import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '../core/paths.js';
import { ensureModels, modelVersion, packagedModelDir, readManifest, verifyModels } from './models.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
/** A scratch models folder holding only the manifest. */
function manifestOnlyDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-models-'));
  made.push(dir);
  fs.copyFileSync(path.join(MODELS_DIR, 'manifest.json'), path.join(dir, 'manifest.json'));
  return dir;
}

describe('model weights against the manifest', () => {
  it('copies the weights from the installed package into an empty folder and verifies them', () => {
    const dir = manifestOnlyDir();
    const m = ensureModels(dir, packagedModelDir());
    expect(verifyModels(dir)).toEqual([]);
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', ...m.files.map((f) => f.name)].sort());
    expect(modelVersion(m)).toMatch(/^@vladmandic\/face-api@[\d.]+\/face_recognition_model#[0-9a-f]{12}$/);
  });

  it('refuses weights that differ from the manifest, naming the file', () => {
    const dir = manifestOnlyDir();
    ensureModels(dir, packagedModelDir());
    const bin = path.join(dir, 'face_recognition_model.bin');
    const b = fs.readFileSync(bin);
    b[1000]! ^= 0xff; // same size, one byte changed
    fs.writeFileSync(bin, b);
    expect(() => ensureModels(dir, packagedModelDir())).toThrow(/face_recognition_model\.bin: SHA-256 differs/);
    fs.writeFileSync(bin, b.subarray(0, 100));
    expect(verifyModels(dir)).toEqual([`face_recognition_model.bin: 100 bytes, manifest says ${readManifest(dir).files.find((f) => f.name === 'face_recognition_model.bin')!.bytes}`]);
  });

  it('reports missing weights when the package does not have them', () => {
    const dir = manifestOnlyDir();
    expect(() => ensureModels(dir, path.join(dir, 'nowhere'))).toThrow(/ssd_mobilenetv1_model\.bin: missing/);
  });

  /**
   * A read-only folder as the systemd unit makes the program's folder (ProtectSystem=strict):
   * a read-only tmpfs as root (root writes through file modes), file modes otherwise.
   */
  function readOnlyModelsDir(): { dir: string; done: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-models-ro-'));
    const manifest = fs.readFileSync(path.join(MODELS_DIR, 'manifest.json'));
    if (process.getuid?.() === 0) {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
      fs.writeFileSync(path.join(dir, 'manifest.json'), manifest);
      execFileSync('mount', ['-o', 'remount,ro', dir]);
      return { dir, done: () => (execFileSync('umount', [dir]), fs.rmSync(dir, { recursive: true })) };
    }
    fs.writeFileSync(path.join(dir, 'manifest.json'), manifest);
    fs.chmodSync(dir, 0o555);
    return { dir, done: () => (fs.chmodSync(dir, 0o755), fs.rmSync(dir, { recursive: true })) };
  }

  it('in a read-only program folder, loads the packaged weights after verifying them in place', () => {
    const ro = readOnlyModelsDir();
    try {
      expect(() => fs.writeFileSync(path.join(ro.dir, 'probe'), 'x')).toThrow(/EROFS|EACCES/);
      const m = ensureModels(ro.dir, packagedModelDir());
      expect(m.dir).toBe(packagedModelDir());
      expect(fs.readdirSync(ro.dir)).toEqual(['manifest.json']);
    } finally {
      ro.done();
    }
  });

  it('in a read-only program folder, still refuses packaged weights that differ from the manifest', () => {
    const ro = readOnlyModelsDir();
    const from = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-models-from-'));
    try {
      for (const f of fs.readdirSync(packagedModelDir())) fs.copyFileSync(path.join(packagedModelDir(), f), path.join(from, f));
      const bin = path.join(from, 'ssd_mobilenetv1_model.bin');
      const b = fs.readFileSync(bin);
      b[5000]! ^= 0xff;
      fs.writeFileSync(bin, b);
      expect(() => ensureModels(ro.dir, from)).toThrow(/read-only.*ssd_mobilenetv1_model\.bin: SHA-256 differs/);
    } finally {
      ro.done();
      fs.rmSync(from, { recursive: true });
    }
  });
});
