import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../agent/core/paths.js';
import { COMMAND_PACKAGES, findCommand, requireCommand } from '../agent/core/preflight.js';

/**
 * The install list cannot fall behind the code: every GStreamer element, command and Debian
 * package that the code names must come from a package that scripts/install-deps.sh installs or
 * that the base image has (scripts/base-debian-packages.txt, a copy of the image's list). The
 * developers' machines had gstreamer1.0-x by chance, so CI was green while a fresh machine
 * failed 11 tests with an RTSP 5XX: this test would have named the package.
 */
const script = path.join(PACKAGE_ROOT, 'scripts', 'install-deps.sh');
const rtspServer = path.join(PACKAGE_ROOT, 'agent', 'sim', 'rtsp', 'rtsp_server.py');
const listed = execFileSync('bash', [script, '--list', '--with-test-tools'], { encoding: 'utf8' }).split('\n').filter(Boolean);
const base = fs
  .readFileSync(path.join(PACKAGE_ROOT, 'scripts', 'base-debian-packages.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
// and what those packages bring with them (nginx-light installs nginx, which holds /usr/sbin/nginx)
const depends = spawnSync('dpkg-query', ['-W', '-f', '${Depends}\n', ...listed], { encoding: 'utf8' })
  .stdout.split(/[\n,|]/)
  .map((d) => d.trim().split(/[\s:(]/)[0]!)
  .filter(Boolean);
const provided = new Set([...listed, ...base, ...depends]);

/**
 * The Debian package owning each file, in one `dpkg -S` (it reads every file list: one call,
 * not one per file). usrmerge means dpkg may know a file under /usr or without it.
 */
function owners(files: string[]): Map<string, string> {
  const toggle = (f: string) => (f.startsWith('/usr/') ? f.slice(4) : `/usr${f}`);
  const variants = new Map(files.map((f) => [f, [...new Set([f, toggle(f), fs.realpathSync(f), toggle(fs.realpathSync(f))])]]));
  const r = spawnSync('dpkg', ['-S', ...[...variants.values()].flat()], { encoding: 'utf8' });
  const byPath = new Map<string, string>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^([^:,\s]+)(?::[\w-]+)?: (\/.*)$/.exec(line);
    if (m) byPath.set(m[2]!, m[1]!);
  }
  const out = new Map<string, string>();
  for (const [f, vs] of variants) {
    const hit = vs.map((v) => byPath.get(v)).find(Boolean);
    if (hit) out.set(f, hit);
  }
  return out;
}
const owner = (file: string) => owners([file]).get(file);

/** Commands that the code starts by name (spawn/execFile with a literal, or a literal /usr/(s)bin path). */
function commandsInCode(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && p !== SELF) {
        const text = fs.readFileSync(p, 'utf8');
        for (const m of text.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync)\(\s*'([^']+)'/g)) found.set(path.basename(m[1]!), path.relative(PACKAGE_ROOT, p));
        for (const m of text.matchAll(/'(\/usr\/s?bin\/[\w.+-]+)'/g)) found.set(path.basename(m[1]!), path.relative(PACKAGE_ROOT, p));
        for (const m of text.matchAll(/requireCommand\('([^']+)'\)/g)) found.set(path.basename(m[1]!), path.relative(PACKAGE_ROOT, p));
      }
    }
  };
  for (const d of ['agent', 'scripts', 'bench']) walk(path.join(PACKAGE_ROOT, d));
  return found;
}

const SELF = fileURLToPath(import.meta.url);
// not from the list: npx comes with Node (from the npm registry); bash and sh are Essential in every Debian
const NOT_FROM_THE_LIST = new Set(['npx', 'bash', 'sh']);

describe('the install list (scripts/install-deps.sh) covers what the code uses', () => {
  it('every GStreamer element of the simulated camera comes from a listed package, as rtsp_server.py says', () => {
    requireCommand('gst-inspect-1.0');
    const table = JSON.parse(execFileSync('/usr/bin/python3', [rtspServer, '--list-elements'], { encoding: 'utf8' })) as Record<string, string | null>;
    expect(Object.keys(table).length).toBeGreaterThan(5);
    const problems: string[] = [];
    const files = new Map<string, string>();
    for (const [element, said] of Object.entries(table)) {
      if (!said) problems.push(`${element}: not in ELEMENT_PACKAGES of rtsp_server.py`);
      const r = spawnSync('gst-inspect-1.0', [element], { encoding: 'utf8' });
      const file = /^\s*Filename\s+(\S+)/m.exec(r.stdout ?? '')?.[1];
      if (file) files.set(element, file);
      else problems.push(`${element}: gst-inspect-1.0 does not find it (install ${said ?? '?'})`);
    }
    const pkgs = owners([...files.values()]);
    for (const [element, file] of files) {
      const said = table[element];
      const pkg = pkgs.get(file);
      if (!pkg) problems.push(`${element}: dpkg -S ${file} names no package`);
      else if (pkg !== said) problems.push(`${element}: in ${pkg} (dpkg -S ${file}), rtsp_server.py says ${said}`);
      else if (!provided.has(pkg)) problems.push(`${element}: its package ${pkg} is not in scripts/install-deps.sh`);
    }
    expect(problems).toEqual([]);
  });

  it('the Python bindings of the simulated camera come from listed packages', () => {
    const text = fs.readFileSync(rtspServer, 'utf8');
    const table = /BINDING_PACKAGES = (\{[^}]*\})/.exec(text)?.[1];
    expect(table).toBeTruthy();
    const pkgs = [...table!.matchAll(/: '([\w.+-]+)'/g)].map((m) => m[1]!);
    expect(pkgs).toContain('python3-gi');
    for (const ns of ['Gst', 'GstRtspServer']) {
      const typelib = `/usr/lib/x86_64-linux-gnu/girepository-1.0/${ns}-1.0.typelib`;
      if (fs.existsSync(typelib)) expect(pkgs, typelib).toContain(owner(typelib));
    }
    expect(
      pkgs.filter((p) => !provided.has(p)),
      'not in scripts/install-deps.sh',
    ).toEqual([]);
  });

  it('every command the code starts is in the preflight table, found on this machine, from a listed package', () => {
    const problems: string[] = [];
    const commands = commandsInCode();
    expect(commands.size).toBeGreaterThan(5);
    const files = new Map<string, string>();
    for (const [cmd, where] of commands) {
      if (NOT_FROM_THE_LIST.has(cmd)) continue;
      const said = COMMAND_PACKAGES[cmd];
      if (!said) {
        problems.push(`${cmd} (started in ${where}): not in COMMAND_PACKAGES of agent/core/preflight.ts`);
        continue;
      }
      if (!provided.has(said)) problems.push(`${cmd}: its package ${said} is not in scripts/install-deps.sh`);
      // Debian's copy first: a developer's PATH may put another (pyenv's python3) before it
      const file = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((d) => path.join(d, cmd)).find((f) => fs.existsSync(f)) ?? findCommand(cmd);
      if (file) files.set(cmd, file);
      else problems.push(`${cmd}: not on this machine (install ${said})`);
    }
    const pkgs = owners([...files.values()]);
    for (const [cmd, file] of files) {
      const pkg = pkgs.get(file);
      if (!pkg) problems.push(`${cmd}: dpkg -S ${file} names no package`);
      else if (!provided.has(pkg)) problems.push(`${cmd}: in ${pkg} (dpkg -S ${file}), which scripts/install-deps.sh does not list`);
    }
    expect(problems).toEqual([]);
  });

  it('every Debian package the preflight table names is listed', () => {
    expect([...new Set(Object.values(COMMAND_PACKAGES))].filter((p) => !provided.has(p))).toEqual([]);
  });

  it('a missing element stops the simulated camera at start with one sentence naming it and its package', async () => {
    // GStreamer pointed at a folder with the test pattern's other plugins but not libgstpango.so
    // (clockoverlay, gstreamer1.0-x): few plugins, so its registry is built in a moment
    const { RtspServer } = await import('../agent/sim/rtsp/server.js');
    const pluginOf = (element: string) => /^\s*Filename\s+(\S+)/m.exec(spawnSync('gst-inspect-1.0', [element], { encoding: 'utf8' }).stdout ?? '')?.[1];
    const others = ['videotestsrc', 'x264enc', 'rtph264pay'].map(pluginOf);
    expect(others.every(Boolean), 'gst-inspect-1.0 finds videotestsrc, x264enc, rtph264pay').toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-gst-'));
    try {
      for (const f of others) fs.symlinkSync(f!, path.join(dir, path.basename(f!)));
      const env = { ...process.env, GST_PLUGIN_SYSTEM_PATH_1_0: dir, GST_PLUGIN_SYSTEM_PATH: dir, GST_PLUGIN_PATH: '', GST_REGISTRY: path.join(dir, 'registry.bin') };
      const server = new RtspServer({ env });
      await expect(server.start()).rejects.toThrow(/^缺少 GStreamer element clockoverlay.*gstreamer1\.0-x.* \/ GStreamer element clockoverlay is missing: install the Debian package gstreamer1\.0-x/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing command is one sentence naming the Debian package', () => {
    expect(() => requireCommand('/nonexistent/mosquitto')).toThrow(
      /^缺少 mosquitto \(\/nonexistent\/mosquitto\).* \/ mosquitto \(\/nonexistent\/mosquitto\) is missing: install the Debian package mosquitto /,
    );
    COMMAND_PACKAGES['no-such-tool'] = 'no-such-package';
    try {
      expect(() => requireCommand('no-such-tool')).toThrow('no-such-tool is missing: install the Debian package no-such-package (scripts/install-deps.sh --with-test-tools installs it)');
    } finally {
      delete COMMAND_PACKAGES['no-such-tool'];
    }
  });
});
