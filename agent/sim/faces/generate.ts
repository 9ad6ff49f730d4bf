import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { requireFfmpeg } from '../../ffmpeg/caps.js';
import { locate } from '../../ffmpeg/locate.js';
import { decodeImage, type RgbFrame } from '../../vision/frames.js';
import { ENROLLED, PEOPLE, type Person } from './people.js';

/**
 * Classroom-like test video from face-api's six demo photos, generated at test time:
 * people cut out of the photos, shrunk to back-row sizes, brightness changed per appearance,
 * seated on a 4 × 2 grid of a 1920 × 1080 frame, some seats empty, encoded as H.264 at a
 * quality a camera's substream would have. Half of the people are enrolled (from a mirrored,
 * re-lit crop of their photo, plus a smaller copy), the other half are strangers.
 */

const require = createRequire(path.join(PACKAGE_ROOT, 'package.json'));
export const sampleDir = () => path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
export const samplePath = (n: number) => path.join(sampleDir(), `sample${n}.jpg`);

export interface Placement {
  person: string;
  /** where the face was put in the frame (its box in the source photo, scaled) */
  box: { x: number; y: number; width: number; height: number };
}
export interface Fixture {
  video: string;
  width: number;
  height: number;
  fps: number;
  frames: Placement[][];
  enrolled: { person: string; photos: string[] }[];
  strangers: string[];
}

/** Deterministic pseudo-random numbers (the fixture must be the same on every run). */
export function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A square region around the face (head and a little shoulder), clamped to the photo. */
export function headRegion(p: Person, photo: { width: number; height: number }, factor = 1.7) {
  const [x, y, w, h] = p.box;
  const side = Math.round(Math.min(factor * Math.max(w, h), photo.width, photo.height));
  const cx = x + w / 2;
  const cy = y + h / 2;
  const left = Math.round(Math.min(Math.max(0, cx - side / 2), photo.width - side));
  const top = Math.round(Math.min(Math.max(0, cy - side / 2), photo.height - side));
  return { left, top, side };
}

export const PHOTO_SIZE: Record<number, { width: number; height: number }> = {
  1: { width: 1920, height: 1280 },
  2: { width: 1920, height: 1367 },
  3: { width: 1920, height: 1350 },
  4: { width: 1920, height: 1448 },
  5: { width: 1920, height: 1398 },
  6: { width: 1920, height: 1537 },
};

/**
 * Cut the head region out of a decoded photo, shrink it to size × size (box filter: averaging
 * the source pixels, as a camera's optics and scaler do) and change brightness/contrast.
 */
function cutout(photo: RgbFrame, p: Person, size: number, brightness: number, contrast: number): RgbFrame {
  const r = headRegion(p, photo);
  const out = new Uint8Array(size * size * 3);
  const k = r.side / size;
  for (let y = 0; y < size; y++) {
    const sy0 = Math.floor(r.top + y * k);
    const sy1 = Math.max(sy0 + 1, Math.floor(r.top + (y + 1) * k));
    for (let x = 0; x < size; x++) {
      const sx0 = Math.floor(r.left + x * k);
      const sx1 = Math.max(sx0 + 1, Math.floor(r.left + (x + 1) * k));
      let R = 0;
      let G = 0;
      let B = 0;
      for (let sy = sy0; sy < sy1; sy++) {
        let i = (sy * photo.width + sx0) * 3;
        for (let sx = sx0; sx < sx1; sx++, i += 3) {
          R += photo.data[i]!;
          G += photo.data[i + 1]!;
          B += photo.data[i + 2]!;
        }
      }
      const n = (sy1 - sy0) * (sx1 - sx0);
      const o = (y * size + x) * 3;
      // same formula as ffmpeg's eq filter: (v - 0.5) * contrast + 0.5 + brightness, on 0..1
      out[o] = clamp255(((R / n / 255 - 0.5) * contrast + 0.5 + brightness) * 255);
      out[o + 1] = clamp255(((G / n / 255 - 0.5) * contrast + 0.5 + brightness) * 255);
      out[o + 2] = clamp255(((B / n / 255 - 0.5) * contrast + 0.5 + brightness) * 255);
    }
  }
  return { width: size, height: size, data: out };
}
const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

// what the fixtures below ask of ffmpeg: raw frames in, H.264 MP4 and JPEG photos out
const NEEDS = { encoders: ['libx264', 'mjpeg'], muxers: ['mp4', 'image2'], demuxers: ['rawvideo', 'image2'] };

function ffmpegRun(args: string[], stdin?: (w: NodeJS.WritableStream) => Promise<void>): Promise<void> {
  requireFfmpeg(locate('ffmpeg'), NEEDS);
  return new Promise((resolve, reject) => {
    const p = spawn(locate('ffmpeg'), ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${err.trim()}`))));
    if (stdin) stdin(p.stdin!).then(() => p.stdin!.end(), reject);
  });
}

/** Enrollment photos: a mirrored, brighter crop and a darker, smaller one (JPEG). */
export async function enrollPhotos(p: Person, dir: string): Promise<string[]> {
  // a portrait: more context than the seat cut-out, as a photo taken for enrollment would have
  // a portrait: the head region on a plain backdrop (context for the detector, no neighbours)
  const r = headRegion(p, PHOTO_SIZE[p.sample]!);
  const a = path.join(dir, `${p.id}-enroll-a.jpg`);
  const b = path.join(dir, `${p.id}-enroll-b.jpg`);
  const crop = `crop=${r.side}:${r.side}:${r.left}:${r.top},pad=iw*1.6:ih*1.6:(ow-iw)/2:(oh-ih)/4:color=0xb0b0b0`;
  await ffmpegRun([
    '-i',
    samplePath(p.sample),
    '-filter_complex',
    `[0:v]${crop},split[x][y];[x]hflip,eq=brightness=0.06[a];[y]scale=iw*0.6:-2,eq=brightness=-0.06:contrast=0.95[b]`,
    '-map',
    '[a]',
    '-q:v',
    '4',
    '-frames:v',
    '1',
    a,
    '-map',
    '[b]',
    '-q:v',
    '6',
    '-frames:v',
    '1',
    b,
  ]);
  return [a, b];
}

export interface FixtureOptions {
  dir: string;
  frames?: number;
  /** appearances per person (each person is in exactly this many frames; at most frames × 8 / 22) */
  appearances?: number;
  seed?: number;
  /** face width range in the 1080p frame, pixels */
  faceMin?: number;
  faceMax?: number;
  crf?: number;
  /** file name of the video in dir */
  name?: string;
}

/** Seats of the 4 × 2 grid in each frame. */
export const SEATS = 8;

/**
 * Who sits where: each person in exactly `appearances` distinct frames, at most SEATS per frame.
 * Throws when the frames cannot hold that many appearances: a person silently seated fewer
 * times (or never) is a trainee the demo or a test can no longer see in K frames, and looks
 * exactly like a recognition failure.
 */
export function seatPlan(people: readonly Person[], nFrames: number, appearances: number, rnd: () => number): { frame: number; seat: number; person: Person }[] {
  if (people.length * appearances > nFrames * SEATS) {
    throw new Error(
      `${people.length} people × ${appearances} appearances do not fit in ${nFrames} frames × ${SEATS} seats; use at most ${Math.floor((nFrames * SEATS) / people.length)} appearances or more frames`,
    );
  }
  const seatsUsed: number[][] = Array.from({ length: nFrames }, () => []);
  const jobs: { frame: number; seat: number; person: Person }[] = [];
  for (const p of people) {
    const candidates = [...Array(nFrames).keys()].filter((f) => seatsUsed[f]!.length < SEATS).sort(() => rnd() - 0.5);
    if (candidates.length < appearances) {
      throw new Error(`${p.id}: only ${candidates.length} frame(s) with a free seat left for ${appearances} appearances; use fewer appearances or more frames`);
    }
    for (const f of candidates.slice(0, appearances)) {
      const free = [...Array(SEATS).keys()].filter((s) => !seatsUsed[f]!.includes(s));
      const seat = free[Math.floor(rnd() * free.length)]!;
      seatsUsed[f]!.push(seat);
      jobs.push({ frame: f, seat, person: p });
    }
  }
  return jobs;
}

export async function makeClassroomFixture(o: FixtureOptions): Promise<Fixture> {
  const W = 1920;
  const H = 1080;
  const nFrames = o.frames ?? 12;
  const appearances = o.appearances ?? 4;
  const rnd = lcg(o.seed ?? 60);
  fs.mkdirSync(o.dir, { recursive: true });
  const enrolledPeople = PEOPLE.filter((p) => ENROLLED.has(p.id));
  const strangers = PEOPLE.filter((p) => !ENROLLED.has(p.id)).map((p) => p.id);

  const frames: Placement[][] = Array.from({ length: nFrames }, () => []);
  const jobs = seatPlan(PEOPLE, nFrames, appearances, rnd);

  const wall = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const v = 150 - Math.round((y / H) * 40); // a wall, darker towards the floor
    const row = wall.subarray(y * W * 3, (y + 1) * W * 3);
    for (let x = 0; x < W * 3; x += 3) {
      row[x] = v;
      row[x + 1] = v - 4;
      row[x + 2] = v - 10;
    }
  }
  const canvases = Array.from({ length: nFrames }, () => wall.slice());
  const faceMin = o.faceMin ?? 110;
  const faceMax = o.faceMax ?? 160;
  const photos = new Map<number, RgbFrame>();
  for (const n of new Set(PEOPLE.map((p) => p.sample))) photos.set(n, await decodeImage(samplePath(n)));
  for (const j of jobs) {
    const faceW = faceMin + rnd() * (faceMax - faceMin);
    const k = faceW / j.person.box[2];
    const r = headRegion(j.person, photos.get(j.person.sample)!);
    const size = Math.round(r.side * k);
    const brightness = (rnd() - 0.5) * 0.3;
    const contrast = 0.85 + rnd() * 0.3;
    const img = cutout(photos.get(j.person.sample)!, j.person, size, brightness, contrast);
    const col = j.seat % 4;
    const row = Math.floor(j.seat / 4);
    const ox = Math.round(col * (W / 4) + (W / 4 - size) / 2 + (rnd() - 0.5) * 40);
    const oy = Math.round(row * (H / 2) + (H / 2 - size) / 2 + (rnd() - 0.5) * 40);
    const canvas = canvases[j.frame]!;
    const x0 = Math.max(0, -ox);
    const x1 = Math.min(img.width, W - ox);
    for (let y = 0; y < img.height; y++) {
      const ty = oy + y;
      if (ty < 0 || ty >= H || x1 <= x0) continue;
      canvas.set(img.data.subarray((y * img.width + x0) * 3, (y * img.width + x1) * 3), (ty * W + ox + x0) * 3);
    }
    const [bx, by, bw, bh] = j.person.box;
    frames[j.frame]!.push({ person: j.person.id, box: { x: ox + (bx - r.left) * k, y: oy + (by - r.top) * k, width: bw * k, height: bh * k } });
  }

  const video = path.join(o.dir, o.name ?? 'classroom.mp4');
  await ffmpegRun(
    ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '1', '-i', '-', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(o.crf ?? 30), '-pix_fmt', 'yuv420p', '-g', '10', video],
    async (w) => {
      for (const c of canvases) {
        if (!w.write(c)) await new Promise((r) => w.once('drain', r));
      }
    },
  );
  const enrolled = await Promise.all(enrolledPeople.map(async (p) => ({ person: p.id, photos: await enrollPhotos(p, o.dir) })));
  return { video, width: W, height: H, fps: 1, frames, enrolled, strangers };
}
