import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { loadConfig } from './load.js';
import { lookupUser, userCanRead } from './secrets.js';
import { closest } from './suggest.js';

const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-cfgcheck-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[], lang = 'en') => {
  const r = spawnSync(process.execPath, [CLI, '--lang', lang, ...args], { encoding: 'utf8', env: process.env });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** A secret file only its owner may read: the service user (nobody) cannot. */
const ownerOnly = path.join(tmp, 'owner-only');
fs.writeFileSync(ownerOnly, 'mqtt-pw-abc\n', { mode: 0o600 });
const state = path.join(tmp, 'state-never-made');

/** One file, every mistake a technician makes that used to pass silently or crash later. */
const BAD = `
box:
  id: ".."                           # 1 unsafe as a folder name
  timezone: Asia/Shangai             # 2 unknown zone
paths: { state: ${state} }
profile: henan-2052                  # 3 unknown profile (with other errors)
cameras:
  - id: ".."                         # 4 unsafe camera id
    rtspUrl: rtsp://10.0.0.5:70000/s # 5 port out of range in a URL
  - id: cam-1
    rtspUrl: rtsp://10.0.0.6/s
    pasword: x                       # 6 unknown key, did you mean
  - id: cam-1                        # 7 duplicate camera id
    rtspUrl: rtsp://10.0.0.7/s
    password: { file: ${path.join(tmp, 'missing')} }   # 8 unreadable secret
terminals:
  - id: 0042                         # 9 leading zeros stripped by YAML
    protocol: zkteco
  - id: t2
    protocol: zkteko                 # 10 typo in an enum
  - id: t2                           # 11 duplicate terminal id
    protocol: webhook
    password: { file: ${ownerOnly} } # 12 the service user cannot read it
checkin:
  listen: { port: 70000 }            # 13 port out of range
  token: { env: NO_SUCH_VAR_X }      # 18 a secret from an unset variable
discovery:
  ranges: ["192.168.1.1-"]           # 14 invalid range
  ports: [0, 80]                     # 15 port out of range
sync:
  url: 127.0.0.1:1883                # 16 no scheme
  topicPrefix: "classroom/+/v1"      # 17 wildcard in the prefix
vison: { enabled: false }            # 19 unknown section, did you mean
`;

const EXPECTED: Array<[string, RegExp]> = [
  ['box.id', /not starting with a dot/],
  ['box.timezone', /unknown time zone "Asia\/Shangai"; did you mean "Asia\/Shanghai"/],
  ['profile', /unknown rule profile "henan-2052"; did you mean "henan-2025"/],
  ['cameras[0].id', /not starting with a dot/],
  ['cameras[0].rtspUrl', /not a valid URL/],
  ['cameras[1].pasword', /did you mean "password"/],
  ['cameras[2].id', /already used by cameras\[1\]/],
  ['cameras[2].password', /does not exist/],
  ['terminals[0].id', /number 42.*leading zeros/],
  ['terminals[1].protocol', /did you mean "zkteco"/],
  ['terminals[2].id', /already used by terminals\[1\]/],
  ['terminals[2].password', /cannot be read by the service user nobody/],
  ['checkin.listen.port', /out of range/],
  ['discovery.ranges[0]', /not an address or range/],
  ['discovery.ports[0]', /out of range/],
  ['sync.url', /no scheme/],
  ['sync.topicPrefix', /wildcards/],
  ['checkin.token', /environment variable NO_SUCH_VAR_X is not set/],
  ['vison', /did you mean "vision"/],
];

describe('config check', () => {
  const file = path.join(tmp, 'bad.yaml');
  fs.writeFileSync(file, BAD);

  it('lists every mistake of the file in one pass, each with its line and a fix, and exits 2', () => {
    const r = cli(['-c', file, 'config', 'check', '--service-user', 'nobody']);
    expect(r.code).toBe(2);
    for (const [p, what] of EXPECTED) {
      const line = r.err.split('\n').find((l) => l.includes(`- ${p} (line `));
      expect(line, `${p} is listed`).toBeDefined();
      expect(line).toMatch(what);
    }
    expect(r.err).toContain(`${EXPECTED.length} problem(s)`);
    // every issue carries a fix line
    expect(r.err.match(/\n {6}fix: /g)!.length).toBe(EXPECTED.length);
  });

  it('says it in Chinese on a Chinese screen, with no library sentence left in English', () => {
    const r = cli(['-c', file, 'config', 'check', '--service-user', 'nobody'], 'zh');
    expect(r.code).toBe(2);
    expect(r.err).toContain('未知时区 "Asia/Shangai"；是不是 "Asia/Shanghai"？');
    expect(r.err).toContain('YAML 把它读成了数字 42');
    expect(r.err.match(/改法：/g)!.length).toBe(EXPECTED.length);
    // zod's and Node's own wording never reaches the screen
    expect(r.err).not.toMatch(/Expected|Invalid|Unrecognized|received|ENOENT|EACCES/);
  });

  it('`run` on the same file exits 2 before making its state folder, opening a port or starting ffmpeg', () => {
    const r = cli(['-c', file, 'run']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('sync.url');
    expect(r.out).toBe(''); // not one daemon log line
    expect(fs.existsSync(state)).toBe(false);
  });

  it('an MQTT password over plain mqtt:// is refused unless allowPlaintextPassword: true', () => {
    const f = path.join(tmp, 'plain.yaml');
    fs.writeFileSync(f, 'sync: { url: "mqtt://broker.example.cn:1883", password: "pw-123456" }\n');
    const issues = (() => {
      try {
        loadConfig(f);
      } catch (e) {
        return (e as InputError).issues;
      }
      return [];
    })();
    expect(issues.map((i) => i.path)).toEqual(['sync.password']);
    fs.writeFileSync(f, 'sync: { url: "mqtt://broker.example.cn:1883", password: "pw-123456", allowPlaintextPassword: true }\n');
    expect(loadConfig(f).sync.allowPlaintextPassword).toBe(true);
    fs.writeFileSync(f, 'sync: { url: "mqtts://broker.example.cn:8883", password: "pw-123456" }\n');
    expect(loadConfig(f).sync.url).toMatch(/^mqtts:/);
  });

  it('a scheme typo and credentials in the MQTT URL are caught', () => {
    const f = path.join(tmp, 'typo.yaml');
    fs.writeFileSync(f, 'sync: { url: "mqtt//broker.example.cn" }\ncheckin: { quietMinutes: "15" }\n');
    const r = cli(['-c', f, 'config', 'check']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sync.url \(line 1\): "mqtt\/\/broker.example.cn" has no scheme/);
    expect(r.err).toContain('fix: write mqtts://broker.example.cn (TLS)');
    expect(r.err).toMatch(/checkin.quietMinutes \(line 2\): expected a number, found the text "15"/);
    fs.writeFileSync(f, 'sync: { url: "mqtz://broker.example.cn" }\n');
    expect(cli(['-c', f, 'config', 'check']).err).toContain('did you mean "mqtt://"');
  });

  it('a valid file passes with exit 0', () => {
    const f = path.join(tmp, 'ok.yaml');
    fs.writeFileSync(
      f,
      `box: { id: box-1, timezone: Asia/Shanghai }\nterminals: [{ id: "0042", protocol: zkteco }]\ncameras: [{ id: cam-1, rtspUrl: "rtsp://10.0.0.6/s", password: { file: ${ownerOnly} } }]\n`,
    );
    const r = cli(['-c', f, 'config', 'check', '--service-user', 'root']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('command line', () => {
  it('a wrong option value exits 2 naming the option; an unknown command exits 2', () => {
    const t = cli(['discover', '--timeout', 'abc']);
    expect(t.code).toBe(2);
    expect(t.err).toContain("option '--timeout <ms>' argument 'abc' is invalid");
    const zh = cli(['checkins', 'list', '--limit', '-3'], 'zh');
    expect(zh.code).toBe(2);
    expect(zh.err).toContain("错误：选项 '--limit <n>' 的取值 '-3' 无效");
    const u = cli(['recrod']);
    expect(u.code).toBe(2);
    expect(u.err).toContain("unknown command 'recrod'");
    expect(cli([]).code).toBe(2);
    expect(cli(['--help']).code).toBe(0);
  });
});

describe('secret file access of the service user', () => {
  it('follows the mode bits of the file and of every folder above it', () => {
    const nobody = lookupUser('nobody');
    if (!nobody) return; // no such user on this machine: nothing to check against
    const f = path.join(tmp, 'sub', 'secret');
    fs.mkdirSync(path.dirname(f), { mode: 0o755 });
    fs.writeFileSync(f, 'x', { mode: 0o644 });
    fs.chmodSync(tmp, 0o755);
    expect(userCanRead(f, nobody)).toBe(true);
    fs.chmodSync(f, 0o600);
    expect(userCanRead(f, nobody)).toBe(process.getuid?.() === nobody.uid);
    fs.chmodSync(f, 0o644);
    fs.chmodSync(path.dirname(f), 0o700);
    expect(userCanRead(f, nobody)).toBe(false);
    fs.chmodSync(path.dirname(f), 0o755);
  });

  it('suggests near words only', () => {
    expect(closest('Asia/Shangai', ['Asia/Shanghai', 'Europe/Paris'])).toBe('Asia/Shanghai');
    expect(closest('completely-else', ['vision', 'sync'])).toBeUndefined();
  });
});
