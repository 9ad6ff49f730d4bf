import type { z } from 'zod';

/** One problem in an input document, located by its path (`lessons[3].end`). */
export interface InputIssue {
  path: string;
  message: string;
}

/**
 * Unusable input (config, bundle, class file, payload). Carries every issue found, not just
 * the first, so a technician fixes a file in one pass. The CLI maps it to exit status 2.
 */
export class InputError extends Error {
  constructor(
    readonly source: string,
    readonly issues: InputIssue[],
  ) {
    super(`${source}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.name = 'InputError';
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export function zodIssues(err: z.ZodError): InputIssue[] {
  return err.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}
