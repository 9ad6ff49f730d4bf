import type { Profile, RuleId } from '../config/profile.js';
import type { Finding } from './evidence.js';

type Subject = { lesson?: string; trainee?: string; teacher?: string };

/** Build a finding in both languages; the profile decides whether the rule is advisory. */
export function finding(profile: Profile, rule: RuleId, subject: Subject, en: string, zh: string): Finding {
  const f: Finding = { rule, ...subject, message: en, messageZh: zh };
  if (!profile.rules[rule].verified) f.advisory = true;
  return f;
}

export const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
