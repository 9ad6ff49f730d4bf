import fs from 'node:fs';
import path from 'node:path';
import { runTool } from '../../ffmpeg/run.js';
import { decodeImage, ffmpegFrames, type RgbFrame } from '../../vision/frames.js';
import { ENROLLED, PEOPLE, type Person } from './people.js';
import { enrollPhotos, headRegion, lcg, samplePath } from './generate.js';

/**
 * The accuracy classroom (issue #17): face-api's 22 sample people seated 15 to a 1080p frame
 * (5 × 3 seats), each appearance at a face width drawn from one of the size bands (32-180 px)
 * and under one transformation a classroom camera gives (mirrored, tilted, blurred, dimmed,
 * or none), the whole video H.264-recompressed at a substream's quality. Half the people are
 * enrolled (two photos each: photo a alone is the one-photo gallery), the other half are
 * strangers in the room. Ground truth is the seat: seats do not overlap, so a detected face's
 * centre names who sits there.
 */
export const BANDS: readonly { name: string; min: number; max: number }[] = [
  { name: '32-39', min: 32, max: 40 },
  { name: '40-59', min: 40, max: 60 },
  { name: '60-79', min: 60, max: 80 },
  { name: '80-119', min: 80, max: 120 },
  { name: '120-180', min: 120, max: 181 },
];
export const TRANSFORMS = ['none', 'mirrored', 'tilted', 'blurred', 'dimmed'] as const;
export type Transform = (typeof TRANSFORMS)[number];

export const W = 1920;
export const H = 1080;
const COLS = 5;
const ROWS = 3;
const CELL_W = W / COLS;
const CELL_H = H / ROWS;

export interface Seated {
  person: string;
  enrolled: boolean;
  /** face width in the frame, px (the person's box in the photo, scaled) */
  facePx: number;
  band: string;
  transform: Transform;
  seat: number;
}
export interface AccuracyFixture {
  frames: RgbFrame[];
  seated: Seated[][];
  enrolled: { person: string; photos: string[] }[];
  strangers: string[];
}

/** The seat (0..14) holding a point of the frame. */
export const seatAt = (x: number, y: number) => Math.min(ROWS - 1, Math.max(0, Math.floor(y / CELL_H))) * COLS + Math.min(COLS - 1, Math.max(0, Math.floor(x / CELL_W)));

/**
 * The head region of a person, `size` px square, sampled with rotation and mirroring in the
 * source photo's coordinates (3 × 3 samples per output pixel: an area average, as optics do),
 * then dimmed and blurred as asked.
 */
function render(photo: RgbFrame, p: Person, size: number, t: Transform, rnd: () => number): RgbFrame {
  const r = headRegion(p, photo, 1.5);
  const k = r.side / size;
  const angle = t === 'tilted' ? ((rnd() < 0.5 ? -1 : 1) * (8 + rnd() * 7) * Math.PI) / 180 : 0;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const [brightness, contrast] = t === 'dimmed' ? [-0.18 - rnd() * 0.08, 0.7 + rnd() * 0.1] : [(rnd() - 0.5) * 0.1, 0.95 + rnd() * 0.1];
  const out = new Uint8Array(size * size * 3);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let R = 0;
      let G = 0;
      let B = 0;
      for (let sy = 0; sy < 3; sy++) {
        for (let sx = 0; sx < 3; sx++) {
          let dx = x + (sx + 0.5) / 3 - c;
          const dy = y + (sy + 0.5) / 3 - c;
          if (t === 'mirrored') dx = -dx;
          const u = Math.round(r.left + r.side / 2 + (cos * dx - sin * dy) * k);
          const v = Math.round(r.top + r.side / 2 + (sin * dx + cos * dy) * k);
          const i = (Math.min(photo.height - 1, Math.max(0, v)) * photo.width + Math.min(photo.width - 1, Math.max(0, u))) * 3;
          R += photo.data[i]!;
          G += photo.data[i + 1]!;
          B += photo.data[i + 2]!;
        }
      }
      const o = (y * size + x) * 3;
      out[o] = clamp((R / 9 / 255 - 0.5) * contrast + 0.5 + brightness);
      out[o + 1] = clamp((G / 9 / 255 - 0.5) * contrast + 0.5 + brightness);
      out[o + 2] = clamp((B / 9 / 255 - 0.5) * contrast + 0.5 + brightness);
    }
  }
  // blurred: a 3 × 3 box blur, twice (≈ Gaussian σ 1.2 px at the face's own size: a face out of focus)
  if (t === 'blurred') for (let n = 0; n < 2; n++) boxBlur(out, size);
  return { width: size, height: size, data: out };
}
const clamp = (v: number) => (v < 0 ? 0 : v > 1 ? 255 : Math.round(v * 255));

function boxBlur(d: Uint8Array, size: number): void {
  const src = d.slice();
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let ch = 0; ch < 3; ch++) {
        let s = 0;
        let n = 0;
        for (let j = -1; j <= 1; j++) {
          for (let i = -1; i <= 1; i++) {
            const yy = y + j;
            const xx = x + i;
            if (yy < 0 || xx < 0 || yy >= size || xx >= size) continue;
            s += src[(yy * size + xx) * 3 + ch]!;
            n++;
          }
        }
        d[(y * size + x) * 3 + ch] = Math.round(s / n);
      }
    }
  }
}

/**
 * `still`: frames per seating. A lesson's trainees sit still: over `still` consecutive frames
 * each seat keeps its person, face size and place (± 3 px), while the transformation (a turned
 * or tilted head, a dimmed light, focus) is drawn again for every frame; then everyone moves.
 * What the agent's tracks and K-frame agreement see in a lesson. 1: everyone moves every frame.
 */
export async function makeAccuracyClassroom(o: { dir: string; frames?: number; seed?: number; crf?: number; still?: number }): Promise<AccuracyFixture> {
  const nFrames = o.frames ?? 12;
  const still = Math.max(1, o.still ?? 1);
  let seating: { p: Person; band: (typeof BANDS)[number]; facePx: number; dx: number; dy: number }[] = [];
  const rnd = lcg(o.seed ?? 17);
  fs.mkdirSync(o.dir, { recursive: true });
  const photos = new Map<number, RgbFrame>();
  for (const n of new Set(PEOPLE.map((p) => p.sample))) photos.set(n, await decodeImage(samplePath(n)));
  const seated: Seated[][] = [];
  const canvases: Uint8Array[] = [];
  for (let f = 0; f < nFrames; f++) {
    const canvas = new Uint8Array(W * H * 3);
    // the backdrop, one row at a time (a pixel-by-pixel fill took seconds per frame)
    const line = new Uint8Array(W * 3);
    for (let y = 0; y < H; y++) {
      const v = 150 - Math.round((y / H) * 40);
      for (let x = 0; x < W; x++) {
        line[x * 3] = v;
        line[x * 3 + 1] = v - 4;
        line[x * 3 + 2] = v - 10;
      }
      canvas.set(line, y * W * 3);
    }
    // 15 of the 22 people in each seating, in turn, so everyone appears about equally often
    if (f % still === 0) {
      const g = f / still;
      seating = Array.from({ length: COLS * ROWS }, (_, s) => PEOPLE[(g * COLS * ROWS + s) % PEOPLE.length]!)
        .sort(() => rnd() - 0.5)
        .map((p) => {
          const band = BANDS[Math.floor(rnd() * BANDS.length)]!;
          return { p, band, facePx: band.min + rnd() * (band.max - 1 - band.min), dx: rnd() - 0.5, dy: rnd() - 0.5 };
        });
    }
    const row: Seated[] = [];
    seating.forEach(({ p, band, facePx, dx, dy }, seat) => {
      const t = TRANSFORMS[Math.floor(rnd() * TRANSFORMS.length)]!;
      const jx = still > 1 ? Math.round((rnd() - 0.5) * 6) : 0;
      const jy = still > 1 ? Math.round((rnd() - 0.5) * 6) : 0;
      const photo = photos.get(p.sample)!;
      const side = headRegion(p, photo, 1.5).side;
      const size = Math.max(8, Math.round((side * facePx) / p.box[2]));
      const img = render(photo, p, size, t, rnd);
      const col = seat % COLS;
      const r = Math.floor(seat / COLS);
      const ox = Math.round(col * CELL_W + (CELL_W - size) / 2 + dx * Math.max(0, CELL_W - size) * 0.5) + jx;
      const oy = Math.round(r * CELL_H + (CELL_H - size) / 2 + dy * Math.max(0, CELL_H - size) * 0.5) + jy;
      for (let y = 0; y < size; y++) {
        const ty = oy + y;
        if (ty < r * CELL_H || ty >= (r + 1) * CELL_H) continue;
        const x0 = Math.max(ox, col * CELL_W);
        const x1 = Math.min(ox + size, (col + 1) * CELL_W);
        if (x1 <= x0) continue;
        canvas.set(img.data.subarray((y * size + (x0 - ox)) * 3, (y * size + (x1 - ox)) * 3), (ty * W + x0) * 3);
      }
      row.push({ person: p.id, enrolled: ENROLLED.has(p.id), facePx: Math.round(facePx), band: band.name, transform: t, seat });
    });
    seated.push(row);
    canvases.push(canvas);
  }
  // recompressed as a camera's substream would be, then decoded again: what vision really sees
  const raw = path.join(o.dir, 'accuracy.rgb');
  fs.writeFileSync(raw, Buffer.concat(canvases.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
  const video = path.join(o.dir, 'accuracy.mp4');
  await runTool(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${W}x${H}`,
      '-r',
      '1',
      '-i',
      raw,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      String(o.crf ?? 28),
      '-pix_fmt',
      'yuv420p',
      '-g',
      '10',
      video,
    ],
    { timeoutMs: 0 },
  );
  fs.rmSync(raw);
  const frames = await ffmpegFrames(['-i', video, '-f', 'image2pipe', '-c:v', 'ppm', '-']);
  if (frames.length !== nFrames) throw new Error(`accuracy fixture: ${frames.length} frames decoded, ${nFrames} made`);
  const enrolled = await Promise.all(PEOPLE.filter((p) => ENROLLED.has(p.id)).map(async (p) => ({ person: p.id, photos: await enrollPhotos(p, o.dir) })));
  return { frames, seated, enrolled, strangers: PEOPLE.filter((p) => !ENROLLED.has(p.id)).map((p) => p.id) };
}
