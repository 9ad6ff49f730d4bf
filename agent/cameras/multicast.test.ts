import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';

/**
 * WS-Discovery multicast needs a network where 239.255.255.250 is routed and nobody else
 * answers: two network namespaces joined by a veth pair (10.77.x.0/24, private to this test).
 * Needs root (ip netns); skipped with a message otherwise.
 */
const tag = `${process.pid % 100000}`;
const NS_CAM = `ca-cam-${tag}`;
const NS_AGENT = `ca-agt-${tag}`;
const V0 = `cav0${tag}`.slice(0, 15);
const V1 = `cav1${tag}`.slice(0, 15);
const SUBNET = `10.77.${Number(tag) % 250}`;
const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });

function setup(): boolean {
  try {
    ip('netns', 'add', NS_CAM);
    ip('netns', 'add', NS_AGENT);
    ip('link', 'add', V0, 'type', 'veth', 'peer', 'name', V1);
    ip('link', 'set', V0, 'netns', NS_AGENT);
    ip('link', 'set', V1, 'netns', NS_CAM);
    ip('-n', NS_AGENT, 'addr', 'add', `${SUBNET}.1/24`, 'dev', V0);
    ip('-n', NS_CAM, 'addr', 'add', `${SUBNET}.2/24`, 'dev', V1);
    for (const [ns, dev] of [
      [NS_AGENT, V0],
      [NS_CAM, V1],
    ]) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev);
    }
    return true;
  } catch (err) {
    console.log(`multicast discovery test skipped: cannot create network namespaces (${(err as Error).message.split('\n')[0]}); needs root and iproute2`);
    teardown();
    return false;
  }
}

function teardown(): void {
  for (const ns of [NS_CAM, NS_AGENT]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* absent */
    }
  }
}

const ok = setup();

describe.skipIf(!ok)('discover by WS-Discovery multicast (network namespaces)', () => {
  let cam: ReturnType<typeof spawn> | undefined;
  let info: { httpPort: number; urn: string };
  beforeAll(async () => {
    cam = spawn(
      'ip',
      ['netns', 'exec', NS_CAM, process.execPath, path.join(PACKAGE_ROOT, 'dist', 'agent', 'sim', 'camera', 'main.js'), '--http-host', '0.0.0.0', '--multicast', '--report-host', `${SUBNET}.2`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    info = await new Promise((resolve, reject) => {
      let out = '';
      cam!.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
      });
      cam!.on('exit', (c) => reject(new Error(`camera exited ${c}`)));
      setTimeout(() => reject(new Error('camera did not start')), 20_000);
    });
  });
  afterAll(async () => {
    if (cam && cam.exitCode === null) {
      await new Promise<void>((resolve) => {
        cam!.on('exit', () => resolve());
        cam!.kill('SIGTERM');
        setTimeout(resolve, 5000);
      });
    }
    teardown();
  });

  it('finds the camera in the other namespace by multicast alone (no ranges configured)', () => {
    const out = execFileSync('ip', ['netns', 'exec', NS_AGENT, process.execPath, path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js'), 'discover', '--json', '--timeout', '2000'], {
      encoding: 'utf8',
    });
    const list = JSON.parse(out);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ host: `${SUBNET}.2`, port: info.httpPort, urn: info.urn, via: ['multicast'], manufacturer: 'SimCam' });
  }, 30_000);
});
