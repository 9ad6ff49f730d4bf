export type Lang = 'zh' | 'en';

/**
 * Language of user-facing text: --lang, else the locale (LC_ALL, LC_MESSAGES, LANG).
 * Chinese unless the locale says English: the technicians read Chinese first.
 */
export function pickLang(flag?: string): Lang {
  if (flag === 'zh' || flag === 'en') return flag;
  const loc = process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '';
  return /^en/i.test(loc) ? 'en' : 'zh';
}

/** A bilingual string picked by language. */
export const t = (lang: Lang, zh: string, en: string) => (lang === 'zh' ? zh : en);
