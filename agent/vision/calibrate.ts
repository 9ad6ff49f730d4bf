import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { FaceRepo } from '../store/faces.js';
import { InputError } from '../core/errors.js';
import { loadClassroomSamples, loadGallery } from './gallery.js';
import { loadFaceKey } from './keysource.js';
import { distanceStats, euclidean, type GalleryEntry } from './match.js';

/**
 * The source text of a classroom sample (a confirmed sighting): it names the camera, so that
 * calibration can tell cameras apart after the recording itself has gone by retention.
 */
export function classroomSource(camera: string, recordingId: number, offsetMs: number, matchId: number, by: string): string {
  return `classroom: camera ${camera}, recording ${recordingId} @ ${offsetMs} ms, match ${matchId}, confirmed by ${by}`;
}
const cameraOf = (source: string): string => /^classroom: camera (\S+),/.exec(source)?.[1] ?? '(unknown camera)';

/** One camera's evidence from the classroom: what the threshold for that camera must separate. */
export interface CameraCalibration {
  camera: string;
  /** this class's confirmed classroom faces: distance to the same trainee's other samples (photos or classroom), as matching sees it */
  same: { n: number; median: number; max: number };
  /** faces of people in nobody of this class's roster (other classes' trainees seen on this camera): distance to the nearest of this class */
  strangers: { n: number; min: number };
  /** this class's classroom faces: distance to the nearest OTHER trainee of the class */
  others: { n: number; min: number };
  histogram: { from: number; to: number; same: number; strangers: number }[];
  /** null: refused (fewer than MIN_SAME_PAIRS confirmed classroom faces on this camera) */
  suggestedThreshold: number | null;
  expectedRecall?: number;
  /** suggested threshold's distance under the nearest stranger or other trainee */
  strangerMargin?: number;
  configuredThreshold: number;
  warning?: string;
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
  /** per camera, from the classroom video's confirmed sightings (`vision confirm`) */
  cameras: CameraCalibration[];
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
  const cameras = cameraCalibrations(cfg, gallery, loadClassroomSamples(faces, key, model), new Set(roster), minBetween);
  const base = {
    cameras,
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
        `only ${within.length} same-person pair(s) (at least ${MIN_SAME_PAIRS} needed): no threshold suggested. Enroll 2 or more photos per trainee (classroom-agent enroll ID A.jpg B.jpg), ` +
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
      ? `some trainees are closer to another trainee (${minBetween.toFixed(2)}) than to themselves (${maxWithin.toFixed(2)}): re-enroll with better photos / 部分学员与他人的距离小于与自身的距离，请重新采集`
      : enrolled.length < 2
        ? 'fewer than 2 trainees enrolled: nothing to compare / 已采集学员少于 2 人'
        : maxWithin >= suggested
          ? `photos of one trainee differ by up to ${maxWithin.toFixed(2)}, above the suggested threshold: some appearances may be missed; enroll from the classroom camera too / 同一学员照片差异较大，可能漏识别，建议补充教室摄像头下的照片`
          : undefined;
  return {
    ...base,
    suggestedThreshold: suggested,
    expectedRecall: Math.round(expectedRecall * 1000) / 1000,
    strangerMargin: Math.round((minBetween - suggested) * 1000) / 1000,
    ...(warning ? { warning } : {}),
  };
}

/**
 * Per camera: each confirmed classroom face of this class against the rest of the class's
 * gallery (leave-one-out, minimum per trainee, as matching does) gives a same-person distance
 * and a distance to the nearest other trainee; each classroom face of someone outside the
 * roster (another class's trainee, on the same camera) gives a stranger distance. The camera's
 * threshold must sit under the nearest stranger and other trainee by the margin, and its recall
 * is the share of same-person distances under it. Refused below MIN_SAME_PAIRS confirmed faces.
 */
function cameraCalibrations(
  cfg: Config,
  gallery: readonly (GalleryEntry & { id: number })[],
  samples: readonly (GalleryEntry & { id: number; source: string })[],
  roster: ReadonlySet<string>,
  photosMinBetween: number,
): CameraCalibration[] {
  const byCamera = new Map<string, (GalleryEntry & { id: number })[]>();
  for (const s of samples) {
    const c = cameraOf(s.source);
    if (!byCamera.has(c)) byCamera.set(c, []);
    byCamera.get(c)!.push(s);
  }
  const out: CameraCalibration[] = [];
  for (const [camera, faces] of [...byCamera.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const same: number[] = [];
    const others: number[] = [];
    const strangers: number[] = [];
    for (const f of faces) {
      let own = Infinity;
      let other = Infinity;
      for (const g of gallery) {
        if (g.id === f.id) continue;
        const d = euclidean(f.descriptor, g.descriptor);
        if (g.trainee === f.trainee) own = Math.min(own, d);
        else other = Math.min(other, d);
      }
      if (!roster.has(f.trainee)) {
        if (Number.isFinite(other)) strangers.push(other);
        continue;
      }
      if (Number.isFinite(own)) same.push(own);
      if (Number.isFinite(other)) others.push(other);
    }
    same.sort((a, b) => a - b);
    const nearest = Math.min(strangers.length ? Math.min(...strangers) : Infinity, others.length ? Math.min(...others) : Infinity);
    const histogram = [];
    for (let from = 0; from < 1.4; from += 0.1) {
      const to = from + 0.1;
      const h = { from: +from.toFixed(1), to: +to.toFixed(1), same: same.filter((d) => d >= from && d < to).length, strangers: strangers.filter((d) => d >= from && d < to).length };
      if (h.same || h.strangers) histogram.push(h);
    }
    const base = {
      camera,
      same: { n: same.length, median: q(same, 0.5), max: same.length ? same[same.length - 1]! : NaN },
      strangers: { n: strangers.length, min: strangers.length ? Math.min(...strangers) : NaN },
      others: { n: others.length, min: others.length ? Math.min(...others) : NaN },
      histogram,
      configuredThreshold: cfg.vision.cameraThresholds[camera] ?? cfg.vision.threshold,
    };
    if (same.length < MIN_SAME_PAIRS) {
      out.push({
        ...base,
        suggestedThreshold: null,
        warning:
          `only ${same.length} confirmed classroom face(s) of this class on ${camera} (at least ${MIN_SAME_PAIRS} needed): no threshold suggested for it; confirm more sightings (classroom-agent vision confirm MATCH_ID) / ` +
          `摄像头 ${camera} 上本班已确认的课堂人脸只有 ${same.length} 张（至少需要 ${MIN_SAME_PAIRS} 张），不给出该摄像头的建议阈值；请确认更多识别记录`,
      });
      continue;
    }
    // without faces of anyone else seen on this camera, the enrollment photos' closest pair bounds it
    const bound = Number.isFinite(nearest) ? nearest : photosMinBetween;
    const t = Math.floor(Math.min(0.6, bound - cfg.vision.margin) * 100) / 100;
    if (t < 0.25) {
      // never a threshold that a stranger seen on this camera would pass
      out.push({
        ...base,
        suggestedThreshold: null,
        warning: `on ${camera} a stranger or another trainee came within ${bound.toFixed(2)} of this class's faces: no threshold both safe and useful; re-enroll the look-alikes with better photos or move the camera / 该摄像头下陌生人或其他学员与本班人脸距离仅 ${bound.toFixed(2)}，无法给出既安全又有用的阈值；请为相近的学员重新采集照片或调整摄像头`,
      });
      continue;
    }
    const recall = same.filter((d) => d < t).length / same.length;
    const warning = !Number.isFinite(nearest)
      ? `no stranger or other trainee seen on ${camera} yet: the threshold is bounded by the enrollment photos only / 该摄像头尚无陌生人或其他学员的数据，阈值仅参考登记照片`
      : recall < 0.95
        ? `on ${camera} the nearest stranger (${nearest.toFixed(2)}) is close to this class's own faces: at ${t} about ${Math.round(recall * 100)}% are recognised; better photos or camera placement help more than a higher threshold / 该摄像头下陌生人距离较近，阈值 ${t} 时约 ${Math.round(recall * 100)}% 可识别`
        : undefined;
    out.push({
      ...base,
      suggestedThreshold: t,
      expectedRecall: Math.round(recall * 1000) / 1000,
      strangerMargin: Math.round((bound - t) * 1000) / 1000,
      ...(warning ? { warning } : {}),
    });
  }
  return out;
}
