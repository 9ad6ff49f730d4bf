import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toBundle } from '../agent/compliance/bundle.js';
import { evaluate } from '../agent/compliance/engine.js';
import type { Evidence, Lesson } from '../agent/compliance/evidence.js';
import { loadProfile } from '../agent/config/profile.js';
import { PACKAGE_ROOT } from '../agent/core/paths.js';
import type { Bench } from './index.js';

/** A full class: 80 trainees, 60 lessons, 2 cameras with 60 s segments, 100,000 sightings. */
export function fullClass(): Evidence {
  const MIN = 60_000;
  const t0 = Date.parse('2025-10-08T08:00:00+08:00');
  const trainees = Array.from({ length: 80 }, (_, i) => ({ id: `S${String(i + 1).padStart(2, '0')}` }));
  const lessons: Lesson[] = Array.from({ length: 60 }, (_, i) => {
    const day = Math.floor(i / 6);
    const start = t0 + day * 24 * 60 * MIN + (i % 6) * 55 * MIN;
    return { id: `L${String(i + 1).padStart(2, '0')}`, kind: i % 5 < 2 ? 'theory' : 'practical', start, end: start + 45 * MIN, cameras: ['cam-1', 'cam-2'], makeUp: false };
  });
  const recordings = lessons.flatMap((l) => ['cam-1', 'cam-2'].flatMap((camera) => Array.from({ length: 47 }, (_, k) => ({ camera, start: l.start - MIN + k * MIN, end: l.start + k * MIN }))));
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const sightings = Array.from({ length: 100_000 }, () => {
    const l = lessons[Math.floor(rnd() * lessons.length)];
    return { trainee: trainees[Math.floor(rnd() * 80)].id, camera: rnd() < 0.5 ? 'cam-1' : 'cam-2', at: l.start + Math.floor(rnd() * 45 * MIN) };
  });
  return {
    profile: 'henan-2025',
    class: {
      id: 'BENCH',
      trainees,
      teachers: [
        { id: 'T1', certified: true },
        { id: 'T2', certified: true },
        { id: 'T3', certified: true },
        { id: 'T4', certified: true },
      ],
      workstations: 14,
    },
    lessons,
    recordings,
    sightings,
    checkins: [],
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const complianceBench: Bench = {
  name: 'evaluate',
  title: 'evaluate a full class (80 trainees, 60 lessons, 2 cameras, 100,000 sightings)',
  async run() {
    const ev = fullClass();
    const profile = loadProfile('henan-2025');
    evaluate(ev, profile); // warm-up (JIT)
    const engine: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      evaluate(ev, profile);
      engine.push(performance.now() - t);
    }
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ca-bench-')), 'bundle.json');
    fs.writeFileSync(file, JSON.stringify(toBundle(ev, 'Asia/Shanghai')));
    const cli = path.join(PACKAGE_ROOT, 'dist/agent/cli/main.js');
    const proc: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      spawnSync(process.execPath, [cli, 'evaluate', file, '--json'], { stdio: 'ignore' });
      proc.push(performance.now() - t);
      // baseline: a bare node process that only reads and parses the same bundle
      t = performance.now();
      spawnSync(process.execPath, ['-e', `JSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'))`], { stdio: 'ignore' });
      bare.push(performance.now() - t);
    }
    console.log(`  engine alone:           ${median(engine).toFixed(1)} ms (median of 7; target < 100 ms)`);
    console.log(`  whole process (CLI):    ${median(proc).toFixed(0)} ms (median of 3)`);
    console.log(`  baseline node read+parse of the same bundle: ${median(bare).toFixed(0)} ms → CLI costs ${(median(proc) - median(bare)).toFixed(0)} ms over it`);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  },
};
