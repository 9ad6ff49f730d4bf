import type { z } from 'zod';

/** One problem in an input document, located by its path (`lessons[3].end`). */
export interface InputIssue {
  path: string;
  /** what is wrong, in English (also what logs carry) */
  message: string;
  /** the same in Chinese; the CLI prints it on a Chinese screen */
  zh?: string;
  /** how to fix it */
  fix?: { zh: string; en: string };
  /** 1-based line in the source file, when known */
  line?: number;
}

/** One issue as a line for a human: `path (line N): what is wrong. Fix: ...` in the chosen language. */
export function formatIssue(i: InputIssue, lang: 'zh' | 'en'): string {
  const where = i.path ? `${i.path}${i.line ? (lang === 'zh' ? `（第 ${i.line} 行）` : ` (line ${i.line})`) : ''}: ` : i.line ? (lang === 'zh' ? `第 ${i.line} 行: ` : `line ${i.line}: `) : '';
  const what = lang === 'zh' ? (i.zh ?? i.message) : i.message;
  const fix = i.fix ? (lang === 'zh' ? `\n      改法：${i.fix.zh}` : `\n      fix: ${i.fix.en}`) : '';
  return `${where}${what}${fix}`;
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
