import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../agent/core/paths.js';
import { requireCommand } from '../agent/core/preflight.js';

const unit = path.join(PACKAGE_ROOT, 'systemd', 'classroom-agent.service');

describe('systemd unit and install script', () => {
  it('systemd-analyze verify passes (with this machine’s node in ExecStart, as install.sh writes it)', () => {
    const analyze = requireCommand('systemd-analyze'); // fails naming the Debian package rather than skipping
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-unit-'));
    const file = path.join(dir, 'classroom-agent.service');
    fs.writeFileSync(file, fs.readFileSync(unit, 'utf8').replace('/usr/bin/node ', `${process.execPath} `));
    const r = spawnSync(analyze, ['verify', file], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stderr.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('the unit has what the brief of a years-long evidence daemon asks', () => {
    const text = fs.readFileSync(unit, 'utf8');
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'Restart=always',
      'WatchdogSec=',
      'User=classroom-agent',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/classroom-agent',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=\n',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
      'SystemCallFilter=@system-service',
      'RestartPreventExitStatus=2',
      'LoadCredential=vision.key:/etc/classroom-agent/vision.key',
    ]) {
      expect(text, line).toContain(line);
    }
  });

  it('install.sh parses, and a dry run walks every step without changing anything', () => {
    execFileSync('bash', ['-n', path.join(PACKAGE_ROOT, 'scripts', 'install.sh')]);
    const prefix = path.join(os.tmpdir(), `ca-prefix-${process.pid}`);
    const out = execFileSync('bash', [path.join(PACKAGE_ROOT, 'scripts', 'install.sh')], { encoding: 'utf8', env: { ...process.env, DRY_RUN: '1', PREFIX: prefix } });
    for (const step of [
      'install -d -o classroom-agent',
      'npm ci',
      'npm prune --omit=dev',
      'agent.example.yaml',
      'face-key.sh /etc/classroom-agent /var/lib/classroom-agent',
      'systemctl enable classroom-agent.service',
    ])
      expect(out, step).toContain(step);
    expect(fs.existsSync(prefix)).toBe(false);
  });
});

/**
 * install.sh as root from a tree that another user owns, into a confined prefix: nothing
 * installed may belong to that user (root runs the program: a file the user owns is a path to
 * root), nothing may be built inside the user's tree, and the state is the service user's, 0700.
 * Needs root (useradd, chown); the Node running the test must be a supported one (22+).
 */
const isRoot = process.getuid?.() === 0;
describe.skipIf(!isRoot)('install.sh from a tree owned by another user (root, throwaway users, temporary prefix)', () => {
  it('leaves nothing owned by that user, builds nothing in the tree, state 0700 for the service user', { timeout: 900_000 }, () => {
    const tag = `${process.pid % 100000}`;
    const owner = `ca-own-${tag}`;
    const svc = `ca-svc-${tag}`;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-install-'));
    fs.chmodSync(tmp, 0o755);
    const src = path.join(tmp, 'src');
    const dirs = { PREFIX: path.join(tmp, 'opt'), ETC_DIR: path.join(tmp, 'etc'), STATE_DIR: path.join(tmp, 'state'), BIN_DIR: path.join(tmp, 'bin'), UNIT_DIR: path.join(tmp, 'units') };
    try {
      execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', owner]);
      // the tree as a user would have it after `git clone`: theirs, writable by them
      fs.cpSync(PACKAGE_ROOT, src, { recursive: true, filter: (f) => !/\/(node_modules|dist|\.git)$/.test(f) });
      execFileSync('chown', ['-R', `${owner}:${owner}`, src]);
      const r = spawnSync('bash', [path.join(src, 'scripts', 'install.sh')], {
        encoding: 'utf8',
        env: { ...process.env, ...dirs, USER_NAME: svc, APT: '0', SYSTEMD: '0', NODE_BIN: process.execPath, NODE_MODULES_FROM: path.join(PACKAGE_ROOT, 'node_modules') },
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);

      const ownedBy = (user: string, ...where: string[]) => execFileSync('find', [...where, '-user', user], { encoding: 'utf8' }).trim();
      expect(ownedBy(owner, ...Object.values(dirs)), 'files owned by the user who cloned the tree').toBe('');
      expect(ownedBy('root', src), 'files made as root inside the user’s tree').toBe('');
      expect(fs.existsSync(path.join(src, 'dist'))).toBe(false);
      // the program is root's and not writable by others
      for (const f of ['dist/agent/cli/main.js', 'package.json', 'node_modules/better-sqlite3/package.json']) {
        const st = fs.statSync(path.join(dirs.PREFIX, f));
        expect([f, st.uid, st.mode & 0o022]).toEqual([f, 0, 0]);
      }
      // state: the service user's alone; config: root's, readable by the service group
      const state = fs.statSync(dirs.STATE_DIR);
      expect(state.mode & 0o777).toBe(0o700);
      expect(execFileSync('id', ['-u', svc], { encoding: 'utf8' }).trim()).toBe(String(state.uid));
      const cfg = fs.statSync(path.join(dirs.ETC_DIR, 'agent.yaml'));
      expect([cfg.uid, cfg.mode & 0o777]).toEqual([0, 0o640]);
      expect(fs.readFileSync(path.join(dirs.ETC_DIR, 'agent.yaml'), 'utf8')).toContain(`state: ${dirs.STATE_DIR}`);
      // the face key: root's, 0600, apart from the state folder (the unit hands it over as a credential)
      const key = fs.statSync(path.join(dirs.ETC_DIR, 'vision.key'));
      expect([key.uid, key.mode & 0o777, key.size]).toEqual([0, 0o600, 32]);
      expect(fs.existsSync(path.join(dirs.STATE_DIR, 'vision.key'))).toBe(false);
      // every path moved: the unit and the command point into the confined install
      // this Node when supported, else the Node 22 that install.sh fetched from the npm registry
      const node = Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : `${dirs.PREFIX}/node/bin/node`;
      if (node !== process.execPath) expect(execFileSync(node, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim()).toBe('22');
      const unitText = fs.readFileSync(path.join(dirs.UNIT_DIR, 'classroom-agent.service'), 'utf8');
      for (const want of [
        `ExecStart=${node} ${dirs.PREFIX}/dist/agent/cli/main.js run --config ${dirs.ETC_DIR}/agent.yaml`,
        `ReadWritePaths=${dirs.STATE_DIR}`,
        `User=${svc}`,
        'MemoryMax=',
        `LoadCredential=vision.key:${dirs.ETC_DIR}/vision.key`,
      ])
        expect(unitText).toContain(want);
      expect(fs.readFileSync(path.join(dirs.BIN_DIR, 'classroom-agent'), 'utf8')).toContain(`${dirs.PREFIX}/dist/agent/cli/main.js`);
    } finally {
      spawnSync('userdel', [owner]);
      spawnSync('userdel', [svc]);
      spawnSync('groupdel', [svc]);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
