import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { scanAudit } from './secrets-scan.js';

/**
 * The secrets-never-printed audit of the whole test run (issue #15 point 4). Every Node process
 * started during the run (the test workers, and the CLI, daemon and tools that tests spawn, as
 * long as they inherit the environment) loads audit-hook.mjs, which copies its stdout and stderr
 * into a private folder; the agent records each secret it resolves from a config (and each
 * password it masks out of a URL) there too. At the end, any secret found in any output fails the
 * run. Nothing to do in a new test: it is covered by being part of the run.
 */
export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-secret-audit-'));
  fs.chmodSync(dir, 0o700);
  process.env.CA_SECRET_AUDIT_DIR = dir;
  const hook = `--import=${pathToFileURL(path.join(import.meta.dirname, 'audit-hook.mjs')).href}`;
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, hook].filter(Boolean).join(' ');
  return () => {
    const leaks = scanAudit(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    if (leaks.length) {
      const lines = leaks.slice(0, 20).map((l) => `  ${l.secret} in ${l.file}: …${l.context.replace(/\s+/g, ' ')}…`);
      // why not only throw: vitest reports an error of a global teardown but still exits 0
      process.exitCode = 1;
      throw new Error(`a configured secret appeared in the output of the test run (${leaks.length} time(s)); mask it (core/log.ts maskUrl, or never print it):\n${lines.join('\n')}`);
    }
  };
}
