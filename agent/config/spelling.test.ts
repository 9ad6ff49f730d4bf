import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';

/**
 * One spelling: *enroll* (docs/design.md §7). Fails when the one-l spelling reappears anywhere in
 * the code, the web pages, the docs, the config files or the README. Allowed only in the alias
 * table that keeps old config files loading, and in migrations (never edited once shipped).
 */
const ROOTS = ['agent', 'web', 'docs', 'config', 'bench', 'scripts', 'README.md', 'CONTRIBUTING.md'];
const ALLOWED = [path.join('agent', 'config', 'legacy.ts'), path.join('agent', 'store', 'migrations') + path.sep];
const TEXT = /\.(ts|js|mjs|json|ya?ml|md|html|css|sh|service|txt)$/;
// the one-l spelling (not followed by a second l), any case; built from parts so this file does not match itself
const OLD = new RegExp(`${'enro'}l(?!l)`, 'i');

function* files(p: string): Generator<string> {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isFile()) {
    if (TEXT.test(p)) yield p;
    return;
  }
  for (const e of fs.readdirSync(p)) {
    if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue;
    yield* files(path.join(p, e));
  }
}

describe('spelling', () => {
  it('enroll has one spelling outside the alias table and migrations', () => {
    const hits: string[] = [];
    let seen = 0;
    for (const root of ROOTS) {
      for (const f of files(path.join(PACKAGE_ROOT, root))) {
        const rel = path.relative(PACKAGE_ROOT, f);
        seen++;
        if (ALLOWED.some((a) => rel === a || rel.startsWith(a))) continue;
        if (OLD.test(path.basename(f))) hits.push(`${rel} (file name)`);
        fs.readFileSync(f, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (OLD.test(line)) hits.push(`${rel}:${i + 1}: ${line.trim().slice(0, 120)}`);
          });
      }
    }
    expect(seen, 'the walk found the source tree').toBeGreaterThan(100);
    expect(hits, 'write "enroll" (two l): docs/design.md §7').toEqual([]);
  });
});
