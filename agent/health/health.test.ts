import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import type { AgentContext } from '../core/context.js';
import { initLogging } from '../core/log.js';
import { Health, healthSample } from './health.js';

const ctx = (healthSeconds: number) => ({ cfg: configSchema.parse({ log: { healthSeconds } }) }) as unknown as AgentContext;

describe('health', () => {
  let dir: string | undefined;
  afterEach(() => {
    initLogging({ level: 'silent' });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('samples this process: memory, open descriptors, loop delay', () => {
    const s = healthSample();
    expect(s.rssMb).toBeGreaterThan(10);
    expect(s.heapUsedMb).toBeGreaterThan(1);
    expect(s.rssMb).toBeGreaterThanOrEqual(s.heapUsedMb);
    // a descriptor opened here is counted
    const before = healthSample().fds;
    const fd = fs.openSync(os.tmpdir(), 'r');
    try {
      expect(healthSample().fds).toBe(before + 1);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('writes one JSON health line per interval, with the event-loop delay a blocked loop caused', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-health-'));
    const file = path.join(dir, 'log.jsonl');
    const fd = fs.openSync(file, 'a');
    initLogging({ level: 'info', fd });
    const h = new Health(ctx(1));
    await h.start();
    await new Promise((r) => setTimeout(r, 100)); // the delay histogram's timer runs from the next loop turn
    const t = Date.now();
    while (Date.now() - t < 300); // block the loop 300 ms
    await new Promise((r) => setTimeout(r, 1200));
    await h.stop();
    fs.closeSync(fd);
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const health = lines.filter((l) => l.ns === 'ca:health' && l.msg === 'health');
    expect(health.length).toBe(1);
    expect(health[0]!.loopDelayMaxMs as number).toBeGreaterThan(200);
    for (const k of ['rssMb', 'heapUsedMb', 'externalMb', 'arrayBuffersMb', 'fds', 'uptimeSeconds']) expect(typeof health[0]![k]).toBe('number');
  });

  it('writes nothing when healthSeconds is 0', async () => {
    const h = new Health(ctx(0));
    await h.start();
    expect(h['timer']).toBeUndefined();
    await h.stop();
  });
});
