import { InvalidArgumentError } from 'commander';
import { pickLang, t } from './i18n.js';

/**
 * Parsers for option values, so a wrong value (`discover --timeout abc`) is refused by the
 * argument parser with exit 2 naming the option, before the command runs. The language is the
 * one of --lang or the locale (the parser runs before the command knows its options).
 */
const lang = () => {
  const i = process.argv.indexOf('--lang');
  return pickLang(i > 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith('--lang='))?.slice(7));
};

/** A whole number within [min, max]. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(t(lang(), `应为 ${min} 到 ${max} 之间的整数`, `must be a whole number from ${min} to ${max}`));
    }
    return n;
  };
}

/** One of a few words (`--stream main|sub`). */
export function choiceArg<T extends string>(choices: readonly T[]) {
  return (v: string): T => {
    if ((choices as readonly string[]).includes(v)) return v as T;
    throw new InvalidArgumentError(t(lang(), `应为 ${choices.join('、')} 之一`, `must be one of ${choices.join(', ')}`));
  };
}

/** A list option of whole numbers (`--port 80 8000`): each value checked as intArg. */
export function intListArg(min: number, max: number) {
  const one = intArg(min, max);
  return (v: string, prev: number[] | undefined): number[] => [...(prev ?? []), one(v)];
}

/**
 * commander's own error sentences, in Chinese when the user reads Chinese; the English original
 * is kept after it so a search finds it.
 */
export function translateCommanderError(text: string): string {
  if (lang() === 'en') return text;
  const rules: [RegExp, (...m: string[]) => string][] = [
    [/^error: unknown command '([^']*)'/, (c) => `错误：没有命令 '${c}'`],
    [/^error: unknown option '([^']*)'/, (o) => `错误：没有选项 '${o}'`],
    [/^error: missing required argument '([^']*)'/, (a) => `错误：缺少参数 '${a}'`],
    [/^error: option '([^']*)' argument missing/, (o) => `错误：选项 '${o}' 缺少取值`],
    [/^error: required option '([^']*)' not specified/, (o) => `错误：必须给出选项 '${o}'`],
    [/^error: option '([^']*)' argument '([^']*)' is invalid\.\s*(.*)/s, (o, v, why) => `错误：选项 '${o}' 的取值 '${v}' 无效：${why.trim()}`],
    [/^error: command-argument value '([^']*)' is invalid for argument '([^']*)'\.\s*(.*)/s, (v, a, why) => `错误：参数 '${a}' 的取值 '${v}' 无效：${why.trim()}`],
    [/^error: too many arguments/, () => '错误：参数过多'],
  ];
  for (const [re, zh] of rules) {
    const m = re.exec(text);
    if (m) return `${zh(...m.slice(1))}\n  (${text.trim()})\n`;
  }
  return text;
}
