import fs from 'node:fs';
import path from 'node:path';

/**
 * What the machine must have for the tools that the tests, the demo and CI start, and the
 * Debian package that brings each. Every starter checks here first, so a fresh machine that
 * lacks a piece fails with one sentence naming it and its package, not with a raw ENOENT or a
 * 5XX much later. scripts/install-deps.test.ts checks this table against `dpkg -S` and against
 * scripts/install-deps.sh, so a package the code needs cannot be left out of the install list.
 */
export const COMMAND_PACKAGES: Record<string, string> = {
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffmpeg',
  python3: 'python3',
  setpriv: 'util-linux',
  mosquitto: 'mosquitto',
  mosquitto_passwd: 'mosquitto',
  // the remote-inspection tests' media server (agent/sim/media/nginx.ts)
  nginx: 'nginx-light',
  openssl: 'openssl',
  // the console's browser tests (Debian's headless Chromium, driven by playwright-core)
  chromium: 'chromium',
  ip: 'iproute2',
  'systemd-analyze': 'systemd',
  'systemd-notify': 'systemd',
  'gst-inspect-1.0': 'gstreamer1.0-tools',
  mount: 'mount',
  umount: 'mount',
  // the install test (root): throwaway users, ownership checks
  useradd: 'passwd',
  userdel: 'passwd',
  groupdel: 'passwd',
  nologin: 'login',
  chown: 'coreutils',
  id: 'coreutils',
  find: 'findutils',
};

/** A program or library the machine lacks, with the Debian package that brings it. */
export class MissingToolError extends Error {
  constructor(
    readonly what: string,
    readonly debianPackage: string,
  ) {
    super(
      `缺少 ${what}：请安装 Debian 软件包 ${debianPackage}（scripts/install-deps.sh --with-test-tools 会安装） / ` +
        `${what} is missing: install the Debian package ${debianPackage} (scripts/install-deps.sh --with-test-tools installs it)`,
    );
    this.name = 'MissingToolError';
  }
}

// sbin folders too: mosquitto lives in /usr/sbin, which a non-root PATH often lacks
const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable: `name` itself when absolute, else from PATH and the sbin folders. */
export function findCommand(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...SEARCH].filter(Boolean);
  const candidates = path.isAbsolute(name) ? [name] : dirs.map((d) => path.join(d, name));
  for (const p of candidates) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Like findCommand, but a missing program throws MissingToolError naming its Debian package. */
export function requireCommand(name: string): string {
  const hit = findCommand(name);
  if (hit) return hit;
  const pkg = COMMAND_PACKAGES[path.basename(name)];
  if (!pkg) throw new Error(`requireCommand(${name}): add it and its Debian package to COMMAND_PACKAGES in agent/core/preflight.ts`);
  throw new MissingToolError(path.isAbsolute(name) ? `${path.basename(name)} (${name})` : name, pkg);
}
