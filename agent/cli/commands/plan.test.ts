import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { capKbps, computePlan, type PlanCamera } from '../../recorder/plan.js';
import { exampleLessonDays, recordExampleSegments, writeExample } from '../../recorder/planexample.js';
import { Store } from '../../store/store.js';
import { parseDiskSize } from './plan.js';
import { loadConfig } from '../../config/load.js';
import { doctorEnv } from '../../doctor/index.js';
import { planCheck } from '../../doctor/plan.js';
import { recordingCheck } from '../../doctor/recording.js';

const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const H = 3_600_000;

const cam = (id: string, kbps: number | null, o: Partial<PlanCamera> = {}): PlanCamera => ({ id, stream: 'main', mode: 'timetable', kbps, source: 'segments', timetableMs: 100 * H, ...o });

describe('plan: the calculation', () => {
  it('bitrate × hours per day × retention days, against 90 % of the disk with 10 % headroom', () => {
    // 100 h over a 50-day timetable = 2 h/day; 1 year = 365 days = 730 h; 8000 kbit/s = 3.6 GB/h
    const r = computePlan({ cameras: [cam('a', 8000)], timetableDays: 50, lessonDays: 40, retentionYears: 1, disk: { totalBytes: 4000e9, availBytes: 4000e9, agentBytes: 0 } });
    expect(r.cameras[0]).toMatchObject({ hoursPerDay: 2, retentionHours: 730, bytesPerHour: 3.6e9 });
    expect(r.neededBytes).toBeCloseTo(2628e9, -3);
    expect(r.capacityBytes).toBe(3600e9);
    expect(r.status).toBe('ok'); // 2628 ≤ 3240
    const tight = computePlan({ cameras: [cam('a', 8000)], timetableDays: 50, lessonDays: 40, retentionYears: 1, disk: { totalBytes: 3000e9, availBytes: 3000e9, agentBytes: 0 } });
    expect(tight.status).toBe('warn'); // 2628 > 0.9 × 2700 = 2430, ≤ 2700
    const always = computePlan({ cameras: [cam('a', 8000, { mode: 'always' })], timetableDays: 0, lessonDays: 0, retentionYears: 1, disk: { totalBytes: 4000e9, availBytes: 4000e9, agentBytes: 0 } });
    expect(always.cameras[0].retentionHours).toBe(24 * 365);
    expect(always.status).toBe('fail');
    expect(always.advice.map((a) => a.kind)).toEqual(['lower-bitrate', 'bigger-disk']);
  });

  it('the free space counts what the agent already holds; a budget caps it; an unknown bitrate is a warning with its fix', () => {
    const r = computePlan({
      cameras: [cam('a', 1000), cam('b', null, { source: 'none' })],
      timetableDays: 100,
      lessonDays: 60,
      retentionYears: 3,
      disk: { totalBytes: 10e12, availBytes: 1e12, agentBytes: 2e12, budgetBytes: 2.5e12 },
    });
    expect(r.capacityBytes).toBe(2.5e12);
    expect(r.status).toBe('warn');
    expect(r.advice[0]).toMatchObject({ kind: 'measure', cameras: ['b'] });
  });

  it('caps the main streams so that the total fits: the larger ones come down, the smaller stay', () => {
    // 4096 + 1024 kbit/s, 1000 h each, room for a quarter: 1280 kbit/s together → both capped at 640
    const room = ((4096 + 1024) * 1000 * 3600 * 1000) / 8 / 4;
    const t = capKbps(
      [
        { kbps: 4096, hours: 1000 },
        { kbps: 1024, hours: 1000 },
      ],
      room,
    );
    expect(t).toBe(640);
    const t2 = capKbps(
      [
        { kbps: 4096, hours: 1000 },
        { kbps: 256, hours: 1000 },
      ],
      ((3000 * 1000 * 3600) / 8) * 1000,
    );
    expect(t2).toBe(2744); // 256 stays, 4096 → 3000 − 256
  });

  it('reads disk sizes as disks are sold', () => {
    expect(parseDiskSize('8TB')).toBe(8e12);
    expect(parseDiskSize('2000 GB')).toBe(2e12);
    expect(() => parseDiskSize('eight')).toThrow(/not a disk size/);
  });
});

/** The ```text blocks of docs/recording.md between the plan example's markers. */
function documented(lang: 'en' | 'zh'): string {
  const doc = fs.readFileSync(path.join(PACKAGE_ROOT, 'docs', 'recording.md'), 'utf8');
  const m = new RegExp(`<!-- plan-example-${lang} -->\\n\`\`\`text\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/recording.md has no plan-example-${lang} block`);
  return m[1];
}

describe('plan: the worked example of docs/recording.md', () => {
  it('60 lesson days in 3 months; `plan` prints exactly the documented figures (en and zh), --json the same numbers, doctor its line', async () => {
    expect(exampleLessonDays()).toHaveLength(60);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-plan-'));
    const { config, classFile } = writeExample(dir);
    const imp = spawnSync(process.execPath, [CLI, '-c', config, 'class', 'import', classFile], { encoding: 'utf8' });
    expect(imp.status, imp.stderr).toBe(0);
    const store = new Store({ file: path.join(dir, 'state', 'evidence.db') });
    recordExampleSegments(store, Date.now());
    store.close();
    for (const lang of ['en', 'zh'] as const) {
      const r = spawnSync(process.execPath, [CLI, '-c', config, '--lang', lang, 'plan', '--disk', '8TB', '--no-probe'], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(1); // does not fit
      expect(r.stdout).toBe(documented(lang));
    }
    const j = spawnSync(process.execPath, [CLI, '-c', config, 'plan', '--disk', '8TB', '--no-probe', '--json'], { encoding: 'utf8' });
    const plan = JSON.parse(j.stdout);
    expect(plan).toMatchObject({ status: 'fail', retentionDays: 1095, timetableDays: 89, lessonDays: 60, capacityBytes: 7200e9 });
    expect(plan.cameras.map((c: { kbps: number }) => c.kbps)).toEqual([4096, 4096, 2048, 512]);
    expect((plan.neededBytes / 1e9).toFixed(1)).toBe('30954.9');
    // doctor: the plan line fails with its fix; cameras outside their windows are not "NOT recording"
    const env = doctorEnv({ cfg: loadConfig(config) });
    const line = await planCheck.run(env);
    expect(line.status).toBe('fail'); // 31 TB needed: no test machine's disk holds it
    expect(line.detail).toMatch(/^needed 30954\.9 GB for 3 years/);
    expect(line.fix?.en).toContain('record the sub stream (cameras[].stream: sub)');
    expect(line.fix?.zh).toContain('改录子码流');
    const rec = await recordingCheck.run(env);
    expect(rec.status).toBe('ok');
    expect(rec.detail).toContain('cam-1: not scheduled now (timetable), no lesson ahead');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

describe('config: the recording schedule and stream keys', () => {
  it('`config check` names each mistake with its fix, in English and Chinese, exit 2', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-plan-cfg-'));
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(
      file,
      'cameras:\n  - id: cam-1\n    rtspUrl: rtsp://10.0.0.5/s\n    stream: sub\n  - id: cam-2\n    rtspUrl: rtsp://10.0.0.6/s\n    record: sometimes\nrecorder:\n  schedule: timetabel\n  marginBeforeMinutes: -5\n',
    );
    const en = spawnSync(process.execPath, [CLI, '-c', file, '--lang', 'en', 'config', 'check'], { encoding: 'utf8' });
    expect(en.status).toBe(2);
    expect(en.stderr).toContain('cameras[0].stream (line 4): stream: sub needs subRtspUrl or onvif');
    expect(en.stderr).toContain('cameras[1].record (line 7)');
    expect(en.stderr).toContain('did you mean "timetable"?');
    expect(en.stderr).toContain('recorder.marginBeforeMinutes (line 10)');
    const zh = spawnSync(process.execPath, [CLI, '-c', file, '--lang', 'zh', 'config', 'check'], { encoding: 'utf8' });
    expect(zh.status).toBe(2);
    expect(zh.stderr).toContain('stream: sub 需要子码流地址');
    expect(zh.stderr).toContain('共 4 处问题');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('`stream: sub` with a Hikvision or Dahua rtspUrl alone passes: the recorder derives the sub stream as config check does', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-plan-cfg-'));
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(
      file,
      'cameras:\n  - id: cam-1\n    rtspUrl: rtsp://10.0.0.5:554/Streaming/Channels/101\n    stream: sub\n' +
        '  - id: cam-2\n    rtspUrl: rtsp://10.0.0.6:554/cam/realmonitor?channel=1&subtype=0\n    stream: sub\n',
    );
    const r = spawnSync(process.execPath, [CLI, '-c', file, '--lang', 'en', 'config', 'check'], { encoding: 'utf8' });
    expect(r.stderr).not.toContain('stream: sub needs');
    expect(r.status).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
