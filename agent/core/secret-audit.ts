import fs from 'node:fs';
import path from 'node:path';

/**
 * Test runs only: remember a secret the agent resolved (or masked out of a URL), so the run's
 * global teardown (agent/testing/global-setup.ts) can fail when any output of the run shows it.
 * Does nothing unless CA_SECRET_AUDIT_DIR names an existing folder, which only the test setup
 * makes (0700, removed at the end of the run); the installed unit never sets it.
 */
const seen = new Set<string>();

export function noteSecret(value: string | undefined): void {
  const dir = process.env.CA_SECRET_AUDIT_DIR;
  if (!dir || !value || seen.has(value)) return;
  seen.add(value);
  try {
    fs.appendFileSync(path.join(dir, `secrets-${process.pid}.jsonl`), `${JSON.stringify(value)}\n`, { mode: 0o600 });
  } catch {
    // no audit folder (anymore): nothing to record
  }
}
