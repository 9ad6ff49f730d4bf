import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { FaceRepo, type ConsentInput } from '../store/faces.js';
import { InputError } from '../core/errors.js';
import { loadFaceApi } from './tf.js';
import { loadNets, modelVersion } from './models.js';
import { decodeImage, ffmpegFrames } from './frames.js';
import { loadGallery, sealDescriptor, sealPhoto } from './gallery.js';
import { loadFaceKey } from './keysource.js';
import { euclidean } from './match.js';
import { classroomSource } from './calibrate.js';
import type { Loaded } from './tf.js';
import type { RgbFrame } from './frames.js';
import { detectFaces, iou, type Box, type FaceFound } from './engine.js';

export interface PhotoCheck {
  photo: string;
  ok: boolean;
  /** why a photo was rejected: no-face, several-faces, too-small, blurred */
  problem?: 'no-face' | 'several-faces' | 'too-small' | 'blurred';
  faces: number;
  facePx?: number;
  sharpness?: number;
  descriptor?: Float32Array;
}

export interface EnrollRules {
  /** smallest face width accepted for enrollment, pixels */
  minFacePx: number;
  /** smallest sharpness (variance of the Laplacian on the face scaled to 112 px) */
  minSharpness: number;
}
export const DEFAULT_ENROLL_RULES: EnrollRules = { minFacePx: 80, minSharpness: 30 };

/**
 * Sharpness of a face: variance of the 4-neighbour Laplacian of its grey levels, after scaling
 * the face box to 112 px wide, so that a big soft face and a small crisp one compare fairly.
 * Blurred photos give descriptors that sit between people, which is how false matches start.
 */
export function sharpness(frame: RgbFrame, box: Box, size = 112): number {
  const k = box.width / size;
  const rows = Math.max(8, Math.round(box.height / k));
  const g = new Float32Array(size * rows);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < size; x++) {
      const sx = Math.min(frame.width - 1, Math.max(0, Math.floor(box.x + (x + 0.5) * k)));
      const sy = Math.min(frame.height - 1, Math.max(0, Math.floor(box.y + (y + 0.5) * k)));
      const i = (sy * frame.width + sx) * 3;
      g[y * size + x] = 0.299 * frame.data[i]! + 0.587 * frame.data[i + 1]! + 0.114 * frame.data[i + 2]!;
    }
  }
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let y = 1; y < rows - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const c = y * size + x;
      const l = g[c - 1]! + g[c + 1]! + g[c - size]! + g[c + size]! - 4 * g[c]!;
      sum += l;
      sum2 += l * l;
      n++;
    }
  }
  return n ? sum2 / n - (sum / n) ** 2 : 0;
}

/** Check one enrollment photo and compute its descriptor when it is usable. */
export async function checkPhoto(l: Loaded, photo: string, frame: RgbFrame, rules: EnrollRules): Promise<PhotoCheck> {
  // a low detection threshold here: a second, faint face in the photo must be noticed, not ignored
  const faces: FaceFound[] = await detectFaces(l, frame, { minConfidence: 0.4, minFaceSize: 0 });
  if (!faces.length) return { photo, ok: false, problem: 'no-face', faces: 0 };
  if (faces.length > 1) return { photo, ok: false, problem: 'several-faces', faces: faces.length };
  const f = faces[0]!;
  const s = sharpness(frame, f.box);
  const base = { photo, faces: 1, facePx: Math.round(f.box.width), sharpness: Math.round(s) };
  if (f.box.width < rules.minFacePx) return { ...base, ok: false, problem: 'too-small' };
  if (s < rules.minSharpness) return { ...base, ok: false, problem: 'blurred' };
  return { ...base, ok: true, descriptor: f.descriptor };
}

export interface EnrollResult {
  trainee: string;
  model: string;
  backend: string;
  checks: PhotoCheck[];
  /** enrolled trainees whose face is close to this one's: check by eye that they are different people */
  lookAlikes: { trainee: string; distance: number }[];
  /** photos this trainee now has for this model */
  photos: number;
}

export interface EnrollOptions {
  /** replace the trainee's descriptors (default) or add to them */
  replace?: boolean;
  /** consent taken at the enrollment desk: recorded only together with accepted photos */
  consent?: ConsentInput;
  /** fewest photos the trainee must have once enrolled (default vision.enrollMinPhotos) */
  minPhotos?: number;
}

const PROBLEM_TEXT: Record<NonNullable<PhotoCheck['problem']>, (c: PhotoCheck, r: EnrollRules) => string> = {
  'no-face': () => 'no face found / 未检测到人脸',
  'several-faces': (c) => `${c.faces} faces; one person per photo / 检测到 ${c.faces} 张人脸，每张照片只能有一人`,
  'too-small': (c, r) => `face ${c.facePx} px wide < ${r.minFacePx} px; take it closer / 人脸宽 ${c.facePx} 像素，小于 ${r.minFacePx}，请靠近拍摄`,
  blurred: (c, r) => `blurred (sharpness ${c.sharpness} < ${r.minSharpness}) / 照片模糊（清晰度 ${c.sharpness}，低于 ${r.minSharpness}）`,
};

/** How to take enrollment photos (said whenever too few are given). */
export const PHOTO_ADVICE =
  "take at least 2 photos: frontal, eyes level with the lens, even light without a backlight, the face at least 1/4 of the picture, one taken under the classroom's light / " +
  '请至少拍 2 张：正脸、平视镜头、光线均匀不逆光、人脸占画面四分之一以上，其中一张在教室灯光下拍摄';

/**
 * Enroll a trainee from photos, all or nothing: the trainee must be on a class roster (import
 * the class first), every photo must show exactly one sharp, large-enough face, and the trainee
 * must end up with at least `minPhotos` photos (one photo under one light is how a trainee sits
 * all term unrecognised); otherwise nothing is stored, not even a consent given with
 * `consent`, and every problem is named. Requires a standing consent (or `consent`).
 * Descriptors are sealed (AES-256-GCM) before they reach the store; the photos are not kept
 * unless vision.keepPhotos is set (then sealed too). Faces close to another enrolled trainee
 * are reported (`lookAlikes`): the classroom will confuse them unless the threshold is lower.
 */
export async function enrollTrainee(cfg: Config, store: Store, trainee: string, photos: readonly string[], o: EnrollOptions = {}): Promise<EnrollResult> {
  const faces = new FaceRepo(store);
  const replace = o.replace ?? true;
  if (!faces.classesOf(trainee).length) {
    throw new InputError('enroll', [
      { path: 'TRAINEE_ID', message: `${trainee} is on no class roster; import the class first (classroom-agent class import FILE) / 学员 ${trainee} 不在任何班次名册中，请先导入班次` },
    ]);
  }
  if (!o.consent && !faces.hasConsent(trainee)) {
    throw new InputError('enroll', [
      { path: 'TRAINEE_ID', message: `no face-recognition consent recorded for ${trainee}; record it first: classroom-agent consent ${trainee} --by NAME / 尚未登记该学员的人脸识别单独同意` },
    ]);
  }
  if (!photos.length) throw new InputError('enroll', [{ path: 'PHOTO', message: `at least one photo; ${PHOTO_ADVICE}` }]);
  const missing = photos.map((p, i) => ({ p, i })).filter(({ p }) => !fs.existsSync(p));
  if (missing.length)
    throw new InputError(
      'enroll',
      missing.map(({ p, i }) => ({ path: `PHOTO[${i}]`, message: `${p}: file not found / 文件不存在` })),
    );
  const key = loadFaceKey(cfg);
  const l = await loadFaceApi(cfg.vision.backend);
  const m = await loadNets(l.faceapi);
  const model = modelVersion(m);
  const minPhotos = o.minPhotos ?? cfg.vision.enrollMinPhotos;
  const kept = replace ? 0 : faces.descriptors([trainee], model).length;
  if (kept + photos.length < minPhotos) {
    throw new InputError('enroll', [{ path: 'PHOTO', message: `${kept + photos.length} photo(s) for ${trainee}, at least ${minPhotos} needed; ${PHOTO_ADVICE}` }]);
  }
  const rules: EnrollRules = { minFacePx: cfg.vision.enrollMinFacePx, minSharpness: cfg.vision.enrollMinSharpness };
  const checks: PhotoCheck[] = [];
  const issues: { path: string; message: string }[] = [];
  for (const [i, p] of photos.entries()) {
    let frame;
    try {
      frame = await decodeImage(p, cfg.recorder.ffmpegPath);
    } catch (err) {
      issues.push({ path: `PHOTO[${i}]`, message: `${p}: not a readable image / 无法读取图片 (${(err as Error).message})` });
      continue;
    }
    const c = await checkPhoto(l, p, frame, rules);
    checks.push(c);
    if (!c.ok) issues.push({ path: `PHOTO[${i}]`, message: `${path.basename(p)}: ${PROBLEM_TEXT[c.problem!](c, rules)}` });
  }
  if (issues.length) throw new InputError('enroll', issues);
  // look-alikes among the trainees already enrolled on this box (any class: people move between classes)
  const others = [
    ...new Set(
      faces
        .enrollment()
        .filter((e) => e.model === model && e.trainee !== trainee)
        .map((e) => e.trainee),
    ),
  ];
  const near = new Map<string, number>();
  for (const g of loadGallery(faces, key, others, model)) {
    for (const c of checks) {
      const d = euclidean(c.descriptor!, g.descriptor);
      if (d < cfg.vision.threshold + 2 * cfg.vision.margin && d < (near.get(g.trainee) ?? Infinity)) near.set(g.trainee, d);
    }
  }
  faces.addDescriptors(
    trainee,
    checks.map((c, i) => ({
      model,
      sealed: sealDescriptor(key, trainee, model, c.descriptor!),
      source: `photo ${i + 1}`,
      facePx: c.facePx!,
      sharpness: c.sharpness!,
      photo: cfg.vision.keepPhotos ? sealPhoto(key, trainee, fs.readFileSync(photos[i]!)) : undefined,
    })),
    replace,
    o.consent ? { input: o.consent, at: Date.now() } : undefined,
  );
  return {
    trainee,
    model,
    backend: l.backend,
    checks: checks.map(({ descriptor: _d, ...c }) => c),
    lookAlikes: [...near.entries()].map(([t, d]) => ({ trainee: t, distance: Math.round(d * 1000) / 1000 })).sort((x, y) => x.distance - y.distance),
    photos: kept + checks.length,
  };
}

/**
 * A technician confirms a classroom sighting (a match row, from `vision evidence`): the face is
 * taken again from the recorded frame and its descriptor stored as a further sample of that
 * trainee, so the classroom's own camera, light and angle teach the gallery. Sealed like any
 * descriptor, only under a standing consent, deleted with the rest on withdrawal.
 */
export async function confirmSighting(cfg: Config, store: Store, matchId: number, by: string): Promise<{ trainee: string; facePx: number; photos: number }> {
  const faces = new FaceRepo(store);
  const m = faces.match(matchId);
  if (!m || !m.box)
    throw new InputError('confirm', [{ path: 'MATCH_ID', message: `no match ${matchId} with its video still on the box (see vision evidence) / 匹配记录 ${matchId} 不存在或其录像已删除` }]);
  if (!faces.hasConsent(m.trainee))
    throw new InputError('confirm', [{ path: 'MATCH_ID', message: `no standing face-recognition consent for ${m.trainee} / 学员 ${m.trainee} 没有有效的人脸识别同意` }]);
  const box = JSON.parse(m.box) as Box;
  const [frame] = await ffmpegFrames(
    ['-ss', (m.offsetMs / 1000).toFixed(3), '-i', m.path, '-frames:v', '1', '-vf', `scale='min(${cfg.vision.frameWidth},iw)':-2`, '-f', 'image2pipe', '-c:v', 'ppm', '-'],
    { ffmpegPath: cfg.recorder.ffmpegPath },
  );
  if (!frame) throw new InputError('confirm', [{ path: 'MATCH_ID', message: `no picture at ${m.offsetMs} ms of recording ${m.recordingId} / 录像中该时刻无画面` }]);
  const l = await loadFaceApi(cfg.vision.backend);
  const model = modelVersion(await loadNets(l.faceapi));
  const found = await detectFaces(l, frame, { minConfidence: cfg.vision.minConfidence, minFaceSize: cfg.vision.minFaceSize, tileSize: cfg.vision.tileSize, tileOverlap: cfg.vision.tileOverlap });
  const face = found.filter((f) => f.descriptor && iou(f.box, box) >= 0.5).sort((x, y) => iou(y.box, box) - iou(x.box, box))[0];
  if (!face)
    throw new InputError('confirm', [{ path: 'MATCH_ID', message: `the face is no longer found at its box in recording ${m.recordingId} (model or settings changed?) / 录像中该位置已检测不到人脸` }]);
  const key = loadFaceKey(cfg);
  faces.addDescriptors(
    m.trainee,
    [
      {
        model,
        sealed: sealDescriptor(key, m.trainee, model, face.descriptor!),
        source: classroomSource(m.camera, m.recordingId, m.offsetMs, m.id, by),
        facePx: face.box.width,
        sharpness: sharpness(frame, face.box),
      },
    ],
    false,
  );
  return { trainee: m.trainee, facePx: Math.round(face.box.width), photos: faces.descriptors([m.trainee], model).length };
}
