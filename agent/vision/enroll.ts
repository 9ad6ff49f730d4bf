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
import { distanceStats, euclidean } from './match.js';
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

export interface EnrolRules {
  /** smallest face width accepted for enrolment, pixels */
  minFacePx: number;
  /** smallest sharpness (variance of the Laplacian on the face scaled to 112 px) */
  minSharpness: number;
}
export const DEFAULT_ENROL_RULES: EnrolRules = { minFacePx: 80, minSharpness: 30 };

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

/** Check one enrolment photo and compute its descriptor when it is usable. */
export async function checkPhoto(l: Loaded, photo: string, frame: RgbFrame, rules: EnrolRules): Promise<PhotoCheck> {
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

export interface EnrolResult {
  trainee: string;
  model: string;
  backend: string;
  checks: PhotoCheck[];
  /** enrolled trainees whose face is close to this one's: check by eye that they are different people */
  lookAlikes: { trainee: string; distance: number }[];
  /** photos this trainee now has for this model */
  photos: number;
}

export interface EnrolOptions {
  /** replace the trainee's descriptors (default) or add to them */
  replace?: boolean;
  /** consent taken at the enrolment desk: recorded only together with accepted photos */
  consent?: ConsentInput;
  /** fewest photos the trainee must have once enrolled (default vision.enrolMinPhotos) */
  minPhotos?: number;
}

const PROBLEM_TEXT: Record<NonNullable<PhotoCheck['problem']>, (c: PhotoCheck, r: EnrolRules) => string> = {
  'no-face': () => 'no face found / 未检测到人脸',
  'several-faces': (c) => `${c.faces} faces; one person per photo / 检测到 ${c.faces} 张人脸，每张照片只能有一人`,
  'too-small': (c, r) => `face ${c.facePx} px wide < ${r.minFacePx} px; take it closer / 人脸宽 ${c.facePx} 像素，小于 ${r.minFacePx}，请靠近拍摄`,
  blurred: (c, r) => `blurred (sharpness ${c.sharpness} < ${r.minSharpness}) / 照片模糊（清晰度 ${c.sharpness}，低于 ${r.minSharpness}）`,
};

/** How to take enrolment photos (said whenever too few are given). */
export const PHOTO_ADVICE =
  "take at least 2 photos: frontal, eyes level with the lens, even light without a backlight, the face at least 1/4 of the picture, one taken under the classroom's light / " +
  '请至少拍 2 张：正脸、平视镜头、光线均匀不逆光、人脸占画面四分之一以上，其中一张在教室灯光下拍摄';

/**
 * Enrol a trainee from photos, all or nothing: the trainee must be on a class roster (import
 * the class first), every photo must show exactly one sharp, large-enough face, and the trainee
 * must end up with at least `minPhotos` photos (one photo under one light is how a trainee sits
 * all term unrecognised); otherwise nothing is stored, not even a consent given with
 * `consent`, and every problem is named. Requires a standing consent (or `consent`).
 * Descriptors are sealed (AES-256-GCM) before they reach the store; the photos are not kept
 * unless vision.keepPhotos is set (then sealed too). Faces close to another enrolled trainee
 * are reported (`lookAlikes`): the classroom will confuse them unless the threshold is lower.
 */
export async function enrolTrainee(cfg: Config, store: Store, trainee: string, photos: readonly string[], o: EnrolOptions = {}): Promise<EnrolResult> {
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
  const minPhotos = o.minPhotos ?? cfg.vision.enrolMinPhotos;
  const kept = replace ? 0 : faces.descriptors([trainee], model).length;
  if (kept + photos.length < minPhotos) {
    throw new InputError('enroll', [{ path: 'PHOTO', message: `${kept + photos.length} photo(s) for ${trainee}, at least ${minPhotos} needed; ${PHOTO_ADVICE}` }]);
  }
  const rules: EnrolRules = { minFacePx: cfg.vision.enrolMinFacePx, minSharpness: cfg.vision.enrolMinSharpness };
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
        .enrolment()
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
        source: `classroom: recording ${m.recordingId} @ ${m.offsetMs} ms, match ${m.id}, confirmed by ${by}`,
        facePx: face.box.width,
        sharpness: sharpness(frame, face.box),
      },
    ],
    false,
  );
  return { trainee: m.trainee, facePx: Math.round(face.box.width), photos: faces.descriptors([m.trainee], model).length };
}

export interface Calibration {
  classId: string;
  model: string;
  enrolled: string[];
  notEnrolled: string[];
  between: { n: number; min: number; p5: number; median: number };
  within: { n: number; max: number };
  /** closest pairs of different trainees (look-alikes to check by eye) */
  closest: { a: string; b: string; distance: number }[];
  histogram: { from: number; to: number; between: number; within: number }[];
  /** null: refused (too few same-person pairs to know where a trainee's own faces fall) */
  suggestedThreshold: number | null;
  /** at the suggested threshold: share of same-person pairs under it (what recall to expect) */
  expectedRecall?: number;
  /** at the suggested threshold: how far under the closest different person it stays */
  strangerMargin?: number;
  configuredThreshold: number;
  warning?: string;
}

/** Fewest same-person pairs (two photos of one trainee) before a threshold is suggested. */
export const MIN_SAME_PAIRS = 5;

const q = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * (xs.length - 1)))]! : NaN);

/**
 * How well the model separates this class's trainees: distances between different trainees'
 * descriptors (must stay above the threshold) and within each trainee's own (must stay below).
 * Suggested threshold: halfway between the largest same-person distance and the smallest
 * different-person distance, capped at 0.6 and kept two margins below the closest pair.
 * Refused (null) with fewer than MIN_SAME_PAIRS same-person pairs: with one photo per trainee
 * nothing says how far a trainee's own faces fall apart, and a threshold drawn from the
 * different-person side alone is far too strict (a class lost most of its recall that way).
 */
export async function calibrate(cfg: Config, store: Store, classId: string, model: string): Promise<Calibration> {
  const faces = new FaceRepo(store);
  const roster = faces.roster(classId);
  if (!roster.length) throw new InputError('calibrate', [{ path: 'CLASS_ID', message: `class ${classId} has no trainees (import it first) / 班次不存在或无学员` }]);
  const key = loadFaceKey(cfg);
  const gallery = loadGallery(faces, key, roster, model);
  const enrolled = [...new Set(gallery.map((g) => g.trainee))].sort();
  const { between, within } = distanceStats(gallery);
  const closest: Calibration['closest'] = [];
  for (let i = 0; i < gallery.length; i++) {
    for (let j = i + 1; j < gallery.length; j++) {
      const a = gallery[i]!;
      const b = gallery[j]!;
      if (a.trainee === b.trainee) continue;
      const d = euclidean(a.descriptor, b.descriptor);
      const pair = [a.trainee, b.trainee].sort() as [string, string];
      const old = closest.find((c) => c.a === pair[0] && c.b === pair[1]);
      if (old) old.distance = Math.min(old.distance, d);
      else closest.push({ a: pair[0], b: pair[1], distance: d });
    }
  }
  closest.sort((x, y) => x.distance - y.distance);
  const minBetween = between[0] ?? 1;
  const maxWithin = within.length ? within[within.length - 1]! : 0;
  const histogram = [];
  for (let f = 0; f < 1.4; f += 0.1) {
    const to = f + 0.1;
    histogram.push({ from: +f.toFixed(1), to: +to.toFixed(1), between: between.filter((d) => d >= f && d < to).length, within: within.filter((d) => d >= f && d < to).length });
  }
  const base = {
    classId,
    model,
    enrolled,
    notEnrolled: roster.filter((r) => !enrolled.includes(r)),
    between: { n: between.length, min: minBetween, p5: q(between, 0.05), median: q(between, 0.5) },
    within: { n: within.length, max: maxWithin },
    closest: closest.slice(0, 5),
    histogram: histogram.filter((h) => h.between || h.within),
    configuredThreshold: cfg.vision.threshold,
  };
  if (within.length < MIN_SAME_PAIRS) {
    return {
      ...base,
      suggestedThreshold: null,
      warning:
        `only ${within.length} same-person pair(s) (at least ${MIN_SAME_PAIRS} needed): no threshold suggested. Enrol 2 or more photos per trainee (classroom-agent enroll ID A.jpg B.jpg), ` +
        `then calibrate again; keep ${cfg.vision.threshold} meanwhile / 同一学员的照片对只有 ${within.length} 对（至少需要 ${MIN_SAME_PAIRS} 对），不给出建议阈值；请为每名学员采集至少 2 张照片后再校准，在此之前保持 ${cfg.vision.threshold}`,
    };
  }
  // why two margins below the closest pair: strangers in the room are not in the gallery, and the
  // closest of N trainees to each other overestimates how close a stranger can come (on the demo
  // cohort: trainees ≥ 0.54 apart, a stranger at 0.44)
  let suggested = Math.min(0.6, (minBetween + maxWithin) / 2, minBetween - 2 * cfg.vision.margin);
  suggested = Math.max(0.25, Math.floor(suggested * 100) / 100);
  const expectedRecall = within.filter((d) => d < suggested).length / within.length;
  const warning =
    maxWithin >= minBetween
      ? `some trainees are closer to another trainee (${minBetween.toFixed(2)}) than to themselves (${maxWithin.toFixed(2)}): re-enrol with better photos / 部分学员与他人的距离小于与自身的距离，请重新采集`
      : enrolled.length < 2
        ? 'fewer than 2 trainees enrolled: nothing to compare / 已采集学员少于 2 人'
        : maxWithin >= suggested
          ? `photos of one trainee differ by up to ${maxWithin.toFixed(2)}, above the suggested threshold: some appearances may be missed; enrol from the classroom camera too / 同一学员照片差异较大，可能漏识别，建议补充教室摄像头下的照片`
          : undefined;
  return {
    ...base,
    suggestedThreshold: suggested,
    expectedRecall: Math.round(expectedRecall * 1000) / 1000,
    strangerMargin: Math.round((minBetween - suggested) * 1000) / 1000,
    ...(warning ? { warning } : {}),
  };
}
