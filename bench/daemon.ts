import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { configSchema } from '../agent/config/schema.js';
import { PACKAGE_ROOT } from '../agent/core/paths.js';
import { onJsonLines } from '../agent/recorder/crashkit.js';
import { SimCamera } from '../agent/sim/camera/camera.js';
import { enrollDemoClass, makeDemoClassroom, scheduleDemoClass } from '../agent/sim/demo/classroom.js';
import { ClassRepo } from '../agent/store/classes.js';
import { Store } from '../agent/store/store.js';
import type { Bench } from './index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}

function procStats(pid: number): { rssMb: number; fds: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    return { rssMb: rss, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/**
 * The whole daemon (`classroom-agent run`, its own process) with 4 simulated cameras showing the
 * demo classroom's faces, vision on, a lesson running all along: cold start to first segment
 * indexed, resident memory, and over the run the RSS slope and file descriptor count.
 * `npm run bench -- daemon` runs it for SOAK_MINUTES (default 3); `npm run soak` for an hour.
 */
export const daemonBench: Bench = {
  name: 'daemon',
  title: 'daemon with 4 cameras and vision: cold start to first segment, memory, fd (SOAK_MINUTES, default 3)',
  async run() {
    const minutes = Number(process.env.SOAK_MINUTES ?? 3);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-soak-'));
    const classroom = await makeDemoClassroom(path.join(dir, 'classroom'));
    const cams: SimCamera[] = [];
    for (let i = 0; i < 4; i++) {
      cams.push(await new SimCamera({ rtsp: { images: classroom.frames, width: 1920, height: 1080, fps: 5, keyint: 5, bitrateKbps: 2500 } }).start());
    }
    const cfg = configSchema.parse({
      box: { id: 'soak-box', room: 'room-101' },
      paths: { state: dir },
      profile: 'demo-minutes',
      cameras: cams.map((c, i) => ({ id: `cam-${i + 1}`, rtspUrl: c.rtspUrl })),
      recorder: { segmentSeconds: 10 },
      checkin: { listen: { host: '127.0.0.1', port: 0 } },
      vision: { sampleEverySeconds: 10, frameWidth: 1280, enrollMinSharpness: 30 },
      sync: { enabled: false },
      monitor: { tickSeconds: 5 },
      log: { level: 'info', healthSeconds: 30 },
    });
    const plan = scheduleDemoClass(classroom, Date.now(), { leadSeconds: 0, lessonSeconds: minutes * 60 + 600, breakSeconds: 0 });
    plan.lessons = plan.lessons.slice(0, 1).map((l) => ({ ...l, cameras: cams.map((_, i) => `cam-${i + 1}`) }));
    const store = new Store({ file: path.join(dir, 'evidence.db') });
    new ClassRepo(store).save(plan, cfg.profile);
    // enrolled, so that vision matches faces against a roster as on a box
    await enrollDemoClass(cfg, store, classroom);
    store.close();
    const config = path.join(dir, 'agent.yaml');
    fs.writeFileSync(config, YAML.stringify(cfg));

    const t0 = Date.now();
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'dist/agent/cli/main.js'), 'run', '--config', config], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    let firstSegmentMs: number | undefined;
    // the daemon's own health lines (log.healthSeconds): the daemon thread's heap beside the RSS
    const heap: { x: number; mb: number; external: number }[] = [];
    // the process RSS at the end of each vision-thread life (the recycle line): a life's peak,
    // so a flat series says memory is bounded over the run, whatever the sawtooth inside a life
    const lifeEnds: { x: number; mb: number }[] = [];
    onJsonLines(child.stdout!, (e) => {
      if (e.ns === 'ca:health' && e.msg === 'health') heap.push({ x: (Date.now() - t0) / 3_600_000, mb: Number(e.heapUsedMb), external: Number(e.externalMb) });
      if (e.msg === 'recycling vision worker') lifeEnds.push({ x: (Date.now() - t0) / 3_600_000, mb: Number(e.rss) / 2 ** 20 });
    });
    const db = () => new Store({ file: path.join(dir, 'evidence.db'), readonly: true });
    while (firstSegmentMs === undefined && Date.now() - t0 < 120_000) {
      await sleep(200);
      if (firstSegmentMs === undefined && fs.existsSync(path.join(dir, 'evidence.db'))) {
        const s = db();
        const n = s.db.prepare('SELECT COUNT(*) FROM recordings').pluck().get() as number;
        s.close();
        if (n > 0) firstSegmentMs = Date.now() - t0;
      }
    }
    const xs: number[] = [];
    const rss: number[] = [];
    const fds: number[] = [];
    const end = t0 + minutes * 60_000;
    while (Date.now() < end && child.exitCode === null) {
      const st = procStats(child.pid!);
      if (st) {
        xs.push((Date.now() - t0) / 3_600_000);
        rss.push(st.rssMb);
        fds.push(st.fds);
      }
      await sleep(Math.min(30_000, Math.max(5000, (minutes * 60_000) / 60)));
    }
    const s = db();
    const segs = s.db.prepare('SELECT COUNT(*) FROM recordings').pluck().get() as number;
    const sightings = s.db.prepare('SELECT COUNT(*) FROM sightings').pluck().get() as number;
    s.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    for (const c of cams) await c.stop();

    const warm = Math.floor(xs.length / 4); // after warm-up (model load, first segments)
    console.log(`  run: ${minutes} min, 4 cameras 1080p, vision on; ${segs} segments, ${sightings} sightings, ${lifeEnds.length} vision worker recycles`);
    console.log(
      `  cold start to first segment indexed: ${firstSegmentMs === undefined ? 'none within 120 s' : `${(firstSegmentMs / 1000).toFixed(1)} s`} (segments are 10 s: the floor is one segment)`,
    );
    if (rss.length) {
      const after = rss.slice(warm);
      const thirds = [0, 1, 2].map((k) => after.slice(Math.floor((k * after.length) / 3), Math.floor(((k + 1) * after.length) / 3)));
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
      console.log(
        `  daemon RSS (with the vision thread; ffmpeg children not included): start ${rss[0].toFixed(0)} MB, after warm-up ${rss[warm].toFixed(0)} MB, end ${rss.at(-1)!.toFixed(0)} MB, max ${Math.max(...rss).toFixed(0)} MB`,
      );
      console.log(
        `    slope after warm-up ${slope(xs.slice(warm), after).toFixed(1)} MB/h over ${after.length} samples; mean by thirds of the run after warm-up: ${thirds.map((t) => mean(t).toFixed(0)).join(' → ')} MB`,
      );
      console.log(`    (the vision thread's wasm heap rises within a life and falls at each recycle: a sawtooth, so compare the thirds and the lives' peaks, not two samples)`);
      if (lifeEnds.length) {
        const lw = lifeEnds.filter((l) => l.x >= xs[warm]!);
        console.log(
          `    RSS at the end of each vision-thread life (its peak): ${lifeEnds.map((l) => l.mb.toFixed(0)).join(', ')} MB${
            lw.length > 2
              ? `; slope after warm-up ${slope(
                  lw.map((l) => l.x),
                  lw.map((l) => l.mb),
                ).toFixed(1)} MB/h`
              : ''
          }`,
        );
        // a straight line through a sawtooth leans with the phase of its ends; fitted from one
        // recycle to another it spans whole teeth, so what remains is growth between lives
        const [from, to] = [lifeEnds[0]!.x, lifeEnds.at(-1)!.x];
        const whole = xs.map((x, i) => ({ x, mb: rss[i]! })).filter((p) => p.x >= from && p.x <= to);
        if (lifeEnds.length > 1 && whole.length > 4) {
          console.log(
            `    slope over whole vision-thread lives (first to last recycle, ${whole.length} samples): ${slope(
              whole.map((p) => p.x),
              whole.map((p) => p.mb),
            ).toFixed(1)} MB/h`,
          );
        }
      }
      if (heap.length > 4) {
        const hw = Math.floor(heap.length / 4);
        const hx = heap.slice(hw).map((h) => h.x);
        console.log(
          `  daemon thread heap: after warm-up ${heap[hw]!.mb} MB, end ${heap.at(-1)!.mb} MB, slope ${slope(
            hx,
            heap.slice(hw).map((h) => h.mb),
          ).toFixed(1)} MB/h over ${heap.length - hw} health lines`,
        );
        console.log(
          `  daemon thread external memory (buffers, frames): after warm-up ${heap[hw]!.external} MB, end ${heap.at(-1)!.external} MB, slope ${slope(
            hx,
            heap.slice(hw).map((h) => h.external),
          ).toFixed(1)} MB/h`,
        );
      }
      console.log(`  open fds: start ${fds[0]}, after warm-up ${fds[warm]}, end ${fds.at(-1)}, max ${Math.max(...fds)}; slope ${slope(xs.slice(warm), fds.slice(warm)).toFixed(1)} fd/h`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  },
};
