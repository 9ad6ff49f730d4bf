import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from './core/paths.js';

const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-logns-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * Every module logs under its own namespace, so `jq 'select(.ns=="ca:recorder")'` finds the
 * recorder's lines and nothing of the daemon's. The real daemon, each module given something to
 * say: a camera that refuses, a broker that is not there, an orphan video file for retention.
 */
describe('log namespaces (the built daemon)', () => {
  it('one line from each module, each carrying its own namespace', async () => {
    const state = path.join(tmp, 'state');
    fs.mkdirSync(path.join(state, 'video', 'cam-1'), { recursive: true });
    fs.writeFileSync(path.join(state, 'video', 'cam-1', 'stray.mp4'), 'not ours');
    const cfg = path.join(tmp, 'agent.yaml');
    fs.writeFileSync(
      cfg,
      [
        `paths: { state: ${state} }`,
        'log: { level: debug, healthSeconds: 1 }',
        'cameras: [{ id: cam-1, rtspUrl: "rtsp://127.0.0.1:9/none" }]',
        'recorder: { schedule: always }',
        'checkin: { listen: { host: 127.0.0.1, port: 0 } }',
        'sync: { url: "mqtt://127.0.0.1:9" }',
        'retention: { intervalMinutes: 0.01, diskBudgetBytes: 1 }',
      ].join('\n'),
    );
    const want = ['ca:daemon', 'ca:store', 'ca:sync', 'ca:recorder', 'ca:checkin', 'ca:vision', 'ca:retention', 'ca:health'];
    const lines: Array<Record<string, unknown>> = [];
    const child = spawn(process.execPath, [CLI, '-c', cfg, 'run'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const seen = () => new Set(lines.map((l) => l.ns));
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(resolve, 50_000);
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
        if (want.every((ns) => seen().has(ns))) {
          clearTimeout(deadline);
          resolve();
        }
      });
      child.on('exit', () => resolve());
    });
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect([...seen()].sort()).toEqual(expect.arrayContaining(want));
    // nothing a module says is logged as the daemon's
    for (const l of lines.filter((x) => x.ns === 'ca:daemon')) {
      expect(l.camera, JSON.stringify(l)).toBeUndefined();
      expect(String(l.msg)).not.toMatch(/check-in server|vision|connect|segment/);
    }
    expect(lines.find((l) => l.msg === 'check-in server listening')?.ns).toBe('ca:checkin');
  });
});
