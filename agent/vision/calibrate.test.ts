import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { ClassRepo } from '../store/classes.js';
import { FaceRepo } from '../store/faces.js';
import { Store } from '../store/store.js';
import { calibrate, classroomSource, MIN_SAME_PAIRS } from './calibrate.js';
import { keyFileOf, loadOrCreateKey, sealDescriptor } from './gallery.js';

/**
 * `vision calibrate` on sealed descriptors in a real store. Descriptors are made up (points on
 * a line, so every distance is known); the model plays no part in the arithmetic.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(photosPerTrainee: number, n = 8, outsiders: string[] = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-calib-'));
  dirs.push(dir);
  const cfg = configSchema.parse({ paths: { state: dir } });
  const store = new Store({ file: path.join(dir, 'e.db') });
  const ids = Array.from({ length: n }, (_, i) => `S${i + 1}`);
  new ClassRepo(store).save({ id: 'C1', timezone: 'Asia/Shanghai', trainees: ids.map((id) => ({ id, terminalIds: [] })), teachers: [], lessons: [] }, 'henan-2025');
  // another class's trainees: in the room on some camera, strangers to C1
  if (outsiders.length) new ClassRepo(store).save({ id: 'C2', timezone: 'Asia/Shanghai', trainees: outsiders.map((id) => ({ id, terminalIds: [] })), teachers: [], lessons: [] }, 'henan-2025');
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
  /** a confirmed classroom face of `trainee` on `camera`, at (x, y) of the made-up plane */
  const classroom = (trainee: string, camera: string, x: number, y: number, k: number) => {
    if (!faces.hasConsent(trainee)) faces.giveConsent(trainee, { recordedBy: 't', method: 'written' }, 1);
    const d = new Float32Array(128);
    d[0] = x;
    d[2] = y;
    faces.addDescriptors(trainee, [{ model: 'm', sealed: sealDescriptor(key, trainee, 'm', d), source: classroomSource(camera, 7, k * 1000, 100 + k, 'tech'), facePx: 60, sharpness: 40 }], false);
  };
  return { cfg, store, classroom };
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

  it('per camera from the classroom: with one photo per trainee, confirmed classroom faces and strangers give a threshold, its recall and the margin', async () => {
    const { cfg, store, classroom } = setup(1, 8, ['X1', 'X2']);
    // cam-front: every trainee confirmed once, 0.30 from their photo (d[2] apart); the other
    // class's X1 sits 0.2 from S1's classroom face, X2 further. cam-back: only 3 confirmed faces.
    for (let i = 0; i < 8; i++) classroom(`S${i + 1}`, 'cam-front', i * 0.75, 0.3, i);
    classroom('X1', 'cam-front', 0, 0.5, 20);
    classroom('X2', 'cam-front', 0.375, 0.9, 21);
    for (let i = 0; i < 3; i++) classroom(`S${i + 1}`, 'cam-back', i * 0.75, 0.2, 30 + i);
    const c = await calibrate(cfg, store, 'C1', 'm');
    store.close();
    // the whole-gallery part counts the classroom faces as samples too: S1-S3 hold 3 (3 pairs each), S4-S8 2
    expect(c.within.n).toBe(3 * 3 + 5);
    const front = c.cameras.find((k) => k.camera === 'cam-front')!;
    expect(front.same.n).toBe(8);
    expect(front.same.max).toBeCloseTo(0.3, 5);
    expect(front.strangers.n).toBe(2);
    // X1 sits 0.2 from S1's classroom face (0, 0.3): no threshold is both safe and useful
    expect(front.strangers.min).toBeCloseTo(0.2, 5);
    expect(front.suggestedThreshold).toBeNull();
    expect(front.warning).toMatch(/a stranger or another trainee came within 0\.20/);
    const back = c.cameras.find((k) => k.camera === 'cam-back')!;
    expect(back.same.n).toBe(3);
    expect(back.suggestedThreshold).toBeNull();
    expect(back.warning).toMatch(/only 3 confirmed classroom face\(s\) of this class on cam-back \(at least 5 needed\)/);
  });

  it('per camera: strangers far away give a threshold with full recall, and the configured per-camera threshold is shown', async () => {
    const { cfg, store, classroom } = setup(1, 6, ['X1']);
    cfg.vision.cameraThresholds = { 'cam-1': 0.42 };
    for (let i = 0; i < 6; i++) classroom(`S${i + 1}`, 'cam-1', i * 0.75, 0.3, i);
    classroom('X1', 'cam-1', 0.375, 0.6, 10);
    const c = await calibrate(cfg, store, 'C1', 'm');
    store.close();
    const k = c.cameras[0]!;
    expect(k.camera).toBe('cam-1');
    expect(k.configuredThreshold).toBe(0.42);
    // X1: sqrt(0.375² + 0.3²) = 0.480 from the nearest classroom face (S1's and S2's at y 0.3)
    expect(k.strangers.min).toBeCloseTo(Math.hypot(0.375, 0.3), 5);
    // min(0.6, 0.480 - 0.08) = 0.400 → 0.40; every same-person distance (0.30) under it
    expect(k.suggestedThreshold).toBe(0.4);
    expect(k.expectedRecall).toBe(1);
    expect(k.strangerMargin).toBeCloseTo(Math.hypot(0.375, 0.3) - 0.4, 3);
    expect(k.warning).toBeUndefined();
  });
});
