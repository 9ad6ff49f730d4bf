import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile } from '../config/profile.js';
import { InputError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { parseBundleText } from './bundle.js';
import { evaluate } from './engine.js';

const dir = path.join(PACKAGE_ROOT, 'test-fixtures', 'evidence');
const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && !f.includes('.expected.'));

/** Keep only the fields the expected file states (messages are left out of the examples). */
function pick(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual)) return actual.map((a, i) => pick(a, expected[i]));
  if (expected && typeof expected === 'object' && actual && typeof actual === 'object') {
    return Object.fromEntries(Object.keys(expected).map((k) => [k, pick((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k])]));
  }
  return actual;
}

describe('shared examples give exactly their expected verdicts', () => {
  for (const file of cases) {
    const expected = JSON.parse(fs.readFileSync(path.join(dir, file.replace(/\.json$/, '.expected.json')), 'utf8'));
    it(file, () => {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      if (file.includes('.bad.')) {
        let err: unknown;
        try {
          parseBundleText(text, file);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).issues.map((i) => i.path).join(' ')).toContain(expected.mentions);
        return;
      }
      const ev = parseBundleText(text, file);
      const verdict = evaluate(ev, loadProfile(ev.profile ?? 'henan-2025'));
      expect(pick(verdict, expected)).toEqual(expected);
    });
  }
});
