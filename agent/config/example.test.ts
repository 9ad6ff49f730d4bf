import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { loadConfig } from './load.js';
import { configSchema } from './schema.js';

const file = path.join(PACKAGE_ROOT, 'config', 'agent.example.yaml');
const text = fs.readFileSync(file, 'utf8');

/** The example with every optional "#~" line enabled and the "[]  # ←" placeholders removed. */
const enabled = text
  .split('\n')
  .filter((l) => !/^\w+: \[\]\s+# ←/.test(l))
  .map((l) => l.replace(/^(\s*)#~ ?/, '$1'))
  .join('\n');

type Json = { type?: string | string[]; properties?: Record<string, Json>; items?: Json };

/** Every key path of the schema (arrays as "[]"); secrets and other unions count as leaves. */
function schemaPaths(s: Json, prefix = ''): string[] {
  if (s.properties) return Object.entries(s.properties).flatMap(([k, v]) => [`${prefix}${k}`, ...schemaPaths(v, `${prefix}${k}.`)]);
  if (s.items) return schemaPaths(s.items, prefix.replace(/\.$/, '[].'));
  return [];
}
function docPaths(d: unknown, prefix = ''): string[] {
  if (Array.isArray(d)) return d.flatMap((x) => docPaths(x, prefix.replace(/\.$/, '[].')));
  if (d && typeof d === 'object') return Object.entries(d).flatMap(([k, v]) => [`${prefix}${k}`, ...(isSecret(k, v) ? [] : docPaths(v, `${prefix}${k}.`))]);
  return [];
}
const isSecret = (k: string, v: unknown) => /password|token|hmacSecret/.test(k) && typeof v === 'object';

describe('config/agent.example.yaml', () => {
  it('validates as shipped (what install.sh copies)', () => {
    const cfg = loadConfig(file);
    expect(cfg.box.id).toBe('box-demo');
    expect(cfg.cameras).toEqual([]);
  });

  it('validates with every optional line enabled', () => {
    const r = configSchema.safeParse(YAML.parse(enabled));
    expect(r.success ? [] : r.error.issues).toEqual([]);
  });

  it('documents every key of the schema', () => {
    const js = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Json;
    const want = schemaPaths(js).filter((p) => !/\.(env|file)$/.test(p));
    const have = new Set(docPaths(YAML.parse(enabled)));
    expect(want.filter((p) => !have.has(p))).toEqual([]);
  });

  it('has a comment in Chinese and English for every section', () => {
    for (const section of Object.keys(configSchema.shape)) {
      const at = text.indexOf(`\n${section}:`);
      const alt = text.indexOf(`\n#~ ${section}:`);
      const pos = at >= 0 ? at : alt;
      expect(pos, section).toBeGreaterThan(0);
      const before = text.slice(0, pos).split('\n').slice(-3).join('\n');
      expect(before, section).toMatch(/[\u4e00-\u9fff]/);
      expect(before, section).toMatch(/[a-z]{3,}/);
    }
  });
});
