import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Never test a stale build: 13 test files spawn dist/ (the CLI, the daemon, the simulators), so a
 * source edited since the last `tsc` would be tested in its old form. Runs once per `vitest run`:
 * compares every compiled source with its dist/ file and builds when one is missing or older
 * (a `stat` of each file: a few ms when dist/ is current, as after `npm test`'s own build).
 */
const root = path.dirname(new URL(import.meta.url).pathname);

function sources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The first source whose dist/ output is missing or older, or undefined when dist/ is current. */
export function staleSource(): string | undefined {
  const config = fs.statSync(path.join(root, 'tsconfig.json')).mtimeMs;
  for (const src of ['agent', 'scripts', 'bench'].flatMap((d) => sources(path.join(root, d)))) {
    const out = path.join(root, 'dist', path.relative(root, src)).replace(/\.ts$/, '.js');
    let built: number;
    try {
      built = fs.statSync(out).mtimeMs;
    } catch {
      return path.relative(root, src);
    }
    if (built < fs.statSync(src).mtimeMs || built < config) return path.relative(root, src);
  }
  return undefined;
}

export default function setup(): void {
  const stale = staleSource();
  if (!stale) return;
  console.log(`dist/ is older than ${stale}: building (tsc -p tsconfig.json) before the tests`);
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  } catch {
    throw new Error('the build failed (tsc output above): the tests would run a stale dist/, so none is run');
  }
}
