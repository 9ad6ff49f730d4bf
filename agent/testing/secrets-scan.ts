import fs from 'node:fs';
import path from 'node:path';

/** A secret short or plain enough to occur in ordinary text ("secret", "wrong") proves nothing. */
export const worthScanning = (s: string) => s.length >= 6 && !/^[a-z]+$/i.test(s) && !/^\d{1,7}$/.test(s);

/** Show where a secret leaked without printing it again. */
const hide = (s: string) => `${s.slice(0, 2)}…(${s.length} chars)`;

export interface Leak {
  secret: string;
  file: string;
  context: string;
}

/**
 * Every secret recorded during a run (secrets-*.jsonl) looked for in every output recorded
 * during it (out-*.log), as written and URL-encoded. The context around a hit is shown with the
 * secret itself hidden.
 */
export function scanAudit(dir: string): Leak[] {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const secrets = new Set<string>();
  for (const f of names.filter((n) => n.startsWith('secrets-'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const s = JSON.parse(line) as string;
      if (worthScanning(s)) secrets.add(s);
    }
  }
  const leaks: Leak[] = [];
  if (!secrets.size) return leaks;
  const forms = [...secrets].flatMap((s) => [...new Set([s, encodeURIComponent(s)])].map((form) => ({ s, form })));
  for (const f of names.filter((n) => n.startsWith('out-'))) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const { s, form } of forms) {
      const at = text.indexOf(form);
      if (at < 0) continue;
      const context = text
        .slice(Math.max(0, at - 120), at + form.length + 60)
        .split(form)
        .join(hide(s));
      leaks.push({ secret: hide(s), file: f, context });
    }
  }
  return leaks;
}
