import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { ClassRepo } from '../store/classes.js';
import { FaceRepo } from '../store/faces.js';
import { Store } from '../store/store.js';
import { calibrate, MIN_SAME_PAIRS } from './enroll.js';
import { keyFileOf, loadOrCreateKey, sealDescriptor } from './gallery.js';

/**
 * `vision calibrate` on sealed descriptors in a real store. Descriptors are made up (points on
 * a line, so every distance is known); the model plays no part in the arithmetic.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(photosPerTrainee: number, n = 8) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-calib-'));
  dirs.push(dir);
  const cfg = configSchema.parse({ paths: { state: dir } });
  const store = new Store({ file: path.join(dir, 'e.db') });
  const ids = Array.from({ length: n }, (_, i) => `S${i + 1}`);
  new ClassRepo(store).save({ id: 'C1', timezone: 'Asia/Shanghai', trainees: ids.map((id) => ({ id, terminalIds: [] })), teachers: [], lessons: [] }, 'henan-2025');
  const key = loadOrCreateKey(keyFileOf(cfg));
  const faces = new FaceRepo(store);
  ids.forEach((id, i) => {
    faces.giveConsent(id, { recordedBy: 't', method: 'written' }, 1);
    // trainees 0.75 apart on one axis; a trainee's own photos 0.2 apart on another
    const rows = Array.from({ length: photosPerTrainee }, (_, k) => {
      const d = new Float32Array(128);
      d[0] = i * 0.75;
      d[1] = k * 0.2;
      return { model: 'm', sealed: sealDescriptor(key, id, 'm', d), source: `photo ${k + 1}`, facePx: 120, sharpness: 99 };
    });
    faces.addDescriptors(id, rows, true);
  });
  return { cfg, store };
}

describe('vision calibrate', () => {
  it('refuses to suggest a threshold with one photo per trainee, saying what to do', async () => {
    const { cfg, store } = setup(1);
    const c = await calibrate(cfg, store, 'C1', 'm');
    store.close();
    expect(c.within.n).toBe(0);
    expect(c.suggestedThreshold).toBeNull();
    expect(c.warning).toMatch(/only 0 same-person pair\(s\) \(at least 5 needed\): no threshold suggested. Enroll 2 or more photos/);
    expect(c.between.min).toBeCloseTo(0.75, 5);
  });

  it('refuses below MIN_SAME_PAIRS same-person pairs too', async () => {
    const { cfg, store } = setup(2, MIN_SAME_PAIRS - 1);
    const c = await calibrate(cfg, store, 'C1', 'm');
    store.close();
    expect(c.within.n).toBe(MIN_SAME_PAIRS - 1);
    expect(c.suggestedThreshold).toBeNull();
  });

  it('with two photos each: suggests a threshold between, with the expected recall and the margin to the nearest other person', async () => {
    const { cfg, store } = setup(2);
    const c = await calibrate(cfg, store, 'C1', 'm');
    store.close();
    expect(c.within.n).toBe(8);
    // min(0.6, (0.75 + 0.2) / 2, 0.75 - 2 × 0.08) = 0.475, floored to 0.47
    expect(c.suggestedThreshold).toBe(0.47);
    expect(c.expectedRecall).toBe(1);
    expect(c.strangerMargin).toBeCloseTo(0.28, 3);
  });
});
