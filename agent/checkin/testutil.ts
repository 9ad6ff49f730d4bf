import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../core/paths.js';

/** Poll until `cond` holds (tests of asynchronous streams); throws with `what` after timeoutMs. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function newestSource(dir: string): number {
  let m = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) m = Math.max(m, newestSource(p));
    else if (e.name.endsWith('.ts')) m = Math.max(m, fs.statSync(p).mtimeMs);
  }
  return m;
}

/** Tests that run compiled code in a child process: build unless dist is newer than every source (npm test builds first). */
export function ensureBuilt(): void {
  const probe = path.join(PACKAGE_ROOT, 'dist/agent/checkin/serve.js');
  const newest = Math.max(newestSource(path.join(PACKAGE_ROOT, 'agent')), newestSource(path.join(PACKAGE_ROOT, 'bench')));
  if (fs.existsSync(probe) && fs.statSync(probe).mtimeMs >= newest) return;
  execFileSync(process.execPath, [path.join(PACKAGE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(PACKAGE_ROOT, 'tsconfig.json')], { stdio: 'inherit' });
}
