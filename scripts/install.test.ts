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
    ]) {
      expect(text, line).toContain(line);
    }
  });

  it('install.sh parses, and a dry run walks every step without changing anything', () => {
    execFileSync('bash', ['-n', path.join(PACKAGE_ROOT, 'scripts', 'install.sh')]);
    const prefix = path.join(os.tmpdir(), `ca-prefix-${process.pid}`);
    const out = execFileSync('bash', [path.join(PACKAGE_ROOT, 'scripts', 'install.sh')], { encoding: 'utf8', env: { ...process.env, DRY_RUN: '1', PREFIX: prefix } });
    for (const step of ['install -d -o classroom-agent', 'npm ci', 'npm prune --omit=dev', 'agent.example.yaml', 'systemctl enable classroom-agent.service']) expect(out, step).toContain(step);
    expect(fs.existsSync(prefix)).toBe(false);
  });
});
