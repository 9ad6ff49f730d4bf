import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, SCHEMA_FILE } from './gen-config-schema.js';

describe('config/agent.schema.json', () => {
  it('is up to date with agent/config/schema.ts (run `npm run schema` when this fails)', () => {
    expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(configJsonSchema());
  });
});
