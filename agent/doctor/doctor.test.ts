import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { InputError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { AlarmRepo } from '../store/alarms.js';
import { Store } from '../store/store.js';
import type { Check, CheckResult } from './check.js';
import { CHECKS, doctorEnv, runDoctor } from './index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-doctor-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function configFile(dir: string, text: string): string {
  const f = path.join(dir, 'agent.yaml');
  // the broker and face checks have their own tests (mqtt.test.ts, face.test.ts): off here, so
  // these stay fast and never dial the default 127.0.0.1:1883
  fs.writeFileSync(f, `sync:\n  enabled: false\nvision:\n  enabled: false\n${text.replaceAll('STATE', path.join(dir, 'state'))}`);
  return f;
}
const byId = (rs: CheckResult[], id: string) => rs.find((r) => r.id === id)!;

describe('doctor checks', () => {
  it('a healthy box: config, store, disk, write speed, ffmpeg all ok', async () => {
    const dir = tmp();
    const file = configFile(dir, 'paths:\n  state: STATE\n');
    const cfg = loadConfig(file);
    new Store({ file: path.join(dir, 'state', 'evidence.db') }).close();
    const rs = await runDoctor(doctorEnv({ configFile: file, cfg }));
    for (const id of ['config', 'store', 'disk', 'write-speed', 'ffmpeg', 'ffprobe', 'alarms']) expect(byId(rs, id).status, `${id}: ${byId(rs, id).detail}`).toBe('ok');
    expect(byId(rs, 'ffmpeg').detail).toMatch(/ffmpeg version/);
    expect(byId(rs, 'write-speed').detail).toMatch(/MB\/s/);
    expect(['ok', 'warn', 'fail']).toContain(byId(rs, 'clock').status);
  });

  it('a broken config fails with its paths and a fix; checks needing it are skipped, not crashed', async () => {
    const dir = tmp();
    const file = configFile(dir, 'retention:\n  purgeBatch: -1\ncameras:\n  - id: "bad id"\n');
    let configError: InputError | undefined;
    try {
      loadConfig(file);
    } catch (e) {
      configError = e as InputError;
    }
    const rs = await runDoctor(doctorEnv({ configFile: file, configError }));
    const c = byId(rs, 'config');
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('retention.purgeBatch');
    expect(c.detail).toContain('cameras[0].id');
    expect(c.fix!.zh).toContain(file);
    expect(c.fix!.en).toContain('config check');
    expect(byId(rs, 'store').status).toBe('warn');
  });

  it('a corrupt store fails with a recovery fix; serious open alarms fail', async () => {
    const dir = tmp();
    const file = configFile(dir, 'paths:\n  state: STATE\n');
    fs.mkdirSync(path.join(dir, 'state'));
    fs.writeFileSync(path.join(dir, 'state', 'evidence.db'), 'this is not a database, it was overwritten'.repeat(200));
    let rs = await runDoctor(doctorEnv({ configFile: file, cfg: loadConfig(file) }));
    expect(byId(rs, 'store')).toMatchObject({ status: 'fail' });
    expect(byId(rs, 'store').fix!.en).toMatch(/recover/);

    fs.rmSync(path.join(dir, 'state', 'evidence.db'));
    const s = new Store({ file: path.join(dir, 'state', 'evidence.db') });
    new AlarmRepo(s).raise('disk-full', 'video', 'disk full');
    s.close();
    rs = await runDoctor(doctorEnv({ configFile: file, cfg: loadConfig(file) }));
    expect(byId(rs, 'alarms')).toMatchObject({ status: 'fail' });
    expect(byId(rs, 'alarms').detail).toContain('disk-full');
  });

  it('ffmpeg/ffprobe: the binary agent/ffmpeg/locate.ts gives the recorder, config override included', async () => {
    const dir = tmp();
    const { createRequire } = await import('node:module');
    const npmFfmpeg = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    const file = configFile(dir, `paths:\n  state: STATE\nrecorder:\n  ffmpegPath: ${npmFfmpeg}\n  ffprobePath: ${path.join(dir, 'no-such-ffprobe')}\n`);
    const cfg = loadConfig(file);
    const ff = CHECKS.find((c) => c.id === 'ffmpeg')!;
    const fp = CHECKS.find((c) => c.id === 'ffprobe')!;
    const a = await ff.run(doctorEnv({ configFile: file, cfg }));
    expect(a.status).toBe('ok');
    expect(a.detail).toMatch(new RegExp(`^${npmFfmpeg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(recorder\\.ffmpegPath\\): ffmpeg version`));
    const b = await fp.run(doctorEnv({ configFile: file, cfg }));
    expect(b.status).toBe('fail');
    expect(b.detail).toContain('no-such-ffprobe (recorder.ffprobePath) not found');
    expect(b.fix!.en).toContain('recorder.ffprobePath');
    // without the override: the system's, said so
    const c = await ff.run(doctorEnv({}));
    expect(c.detail).toMatch(/\((system|npm|CA_FFMPEG)\): ffmpeg version/);
  });

  it('a check that throws becomes a failed result, and the others still run', async () => {
    const boom: Check = {
      id: 'boom',
      title: { zh: '炸', en: 'boom' },
      run: async () => {
        throw new Error('kaput');
      },
    };
    const rs = await runDoctor(doctorEnv({}), [boom, CHECKS.find((c) => c.id === 'ffmpeg')!]);
    expect(rs.map((r) => [r.id, r.status])).toEqual([
      ['boom', 'fail'],
      ['ffmpeg', 'ok'],
    ]);
  });
});

describe('classroom-agent doctor (built CLI)', () => {
  const main = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
  beforeAll(() => {
    if (!fs.existsSync(main)) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
  }, 120_000);
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [main, ...args], { encoding: 'utf8' }, (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }));
    });

  it('broken config → exit non-zero, JSON names the fault and the fix', async () => {
    const dir = tmp();
    const file = configFile(dir, 'paths:\n  state: STATE\nretention:\n  alarmDaysBeforeFull: soon\n');
    const r = await cli(['doctor', '--json', '--config', file]);
    expect(r.code).not.toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: { id: string; status: string; detail: string; fix?: { zh: string; en: string } }[] };
    expect(doc.ok).toBe(false);
    const c = doc.checks.find((x) => x.id === 'config')!;
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('retention.alarmDaysBeforeFull');
    expect(c.fix?.zh.length).toBeGreaterThan(0);
  });

  it('shows the camera, terminal, MQTT and face rows in zh and en, and exits non-zero when one fails', async () => {
    const dir = tmp();
    const { freePort } = await import('../sync/testkit.js');
    const cam = await freePort();
    const broker = await freePort();
    // written whole (no configFile helper): this one keeps sync on, pointing at a closed port
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(
      file,
      `paths:\n  state: ${path.join(dir, 'state')}\nvision:\n  enabled: false\nsync:\n  url: mqtt://127.0.0.1:${broker}\n` +
        `cameras:\n  - id: cam-1\n    onvif: { host: 127.0.0.1, port: ${cam}, username: admin, password: x }\n` +
        `terminals:\n  - { id: gate-1, protocol: zkteco, serial: ZK1 }\n`,
    );
    const zh = await cli(['doctor', '--config', file]);
    expect(zh.code).toBe(1);
    for (const s of ['摄像机', '考勤终端', '上传（MQTT）', '人脸识别引擎', 'cam-1 [fail]: unreachable', 'gate-1: never heard from', 'refused', '处理方法']) expect(zh.stdout).toContain(s);
    const en = await cli(['--lang', 'en', 'doctor', '--config', file]);
    expect(en.code).toBe(1);
    for (const s of ['cameras', 'check-in terminals', 'upload (MQTT)', 'face recognition engine', 'How to fix', 'camera cam-1 unreachable', 'set the server address in the terminal'])
      expect(en.stdout).toContain(s);
  }, 60_000);

  it('prints a table in Chinese by default and in English with --lang en', async () => {
    const dir = tmp();
    const file = configFile(dir, 'paths:\n  state: STATE\n');
    const zh = await cli(['doctor', '--config', file]);
    expect(zh.stdout).toContain('配置文件');
    const en = await cli(['--lang', 'en', 'doctor', '--config', file]);
    expect(en.stdout).toContain('config file');
    expect(en.stdout).toMatch(/disk write speed\s+[\d.]+ MB\/s/);
  });
});
