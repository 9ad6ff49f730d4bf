import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { PACKAGE_ROOT } from '../core/paths.js';
import { formatIso } from '../core/time.js';
import { locate } from '../ffmpeg/locate.js';
import { RtspServer } from '../sim/rtsp/server.js';
import { RecordingRepo } from '../store/recordings.js';
import { exportVideo, manifestPathOf, verifyExport } from './export.js';
import { Recorder } from './recorder.js';
import { makeContext } from './testkit.js';

/** md5 of each video packet, in order (stream copy: the bytes the camera sent). */
function packetHashes(file: string): string[] {
  const out = execFileSync(locate('ffmpeg'), ['-v', 'error', '-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').pop()!.trim());
}

describe('export-video', () => {
  let rtsp: RtspServer;
  beforeAll(async () => {
    rtsp = await new RtspServer({ keyint: 25 }).start();
  });
  afterAll(async () => {
    await rtsp.stop();
  });

  it("joins three segments and a gap by stream copy: plays, its frames are the sources', its manifest verifies and catches a changed source", async () => {
    const ctx = makeContext({ cameras: [{ id: 'cam-x', rtspUrl: rtsp.url }], recorder: { schedule: 'always', segmentSeconds: 2 } });
    const repo = new RecordingRepo(ctx.store);
    const rec = new Recorder(ctx);
    await rec.start();
    while (repo.segments('cam-x').length < 2) await new Promise((r) => setTimeout(r, 100));
    await rec.stop(); // a gap ('agent stopped') before the next life
    await new Promise((r) => setTimeout(r, 1500));
    const rec2 = new Recorder(ctx);
    await rec2.start();
    while (repo.segments('cam-x').length < 4) await new Promise((r) => setTimeout(r, 100));
    await rec2.stop();
    const segs = repo.segments('cam-x').filter((s) => s.end_ms > s.start_ms);
    // from inside the first segment to inside the fourth: three whole or partial sources and a gap
    const from = segs[0].start_ms + 300;
    const to = segs[3].start_ms + 500;
    const out = path.join(ctx.paths.state, 'clip.mp4');
    const m = await exportVideo({ repo, camera: 'cam-x', from, to, out });
    expect(m.sources.map((s) => s.path)).toEqual(segs.slice(0, 4).map((s) => s.path));
    expect(m.gaps.length).toBeGreaterThanOrEqual(1);
    expect(m.gaps[0].reason).toBe('agent stopped');
    // plays: every packet decodes
    const decoded = execFileSync(locate('ffprobe'), ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out], { encoding: 'utf8' });
    expect(Number(decoded)).toBeGreaterThan(25);
    // the clip's packets are, in order, a run of the sources' packets
    const src = m.sources.flatMap((s) => packetHashes(s.path)).join(' ');
    const clip = packetHashes(out);
    expect(clip.length).toBeGreaterThan(25);
    expect(src.includes(clip.join(' '))).toBe(true);
    expect(await verifyExport(manifestPathOf(out))).toEqual([]);
    // a changed source is caught
    fs.appendFileSync(m.sources[1].path, 'x');
    const problems = await verifyExport(manifestPathOf(out));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(m.sources[1].path);
    ctx.cleanup();

    // the same through the CLI, on the daemon's store
    const cfgFile = path.join(ctx.paths.state, 'agent.yaml');
    fs.writeFileSync(cfgFile, YAML.stringify({ paths: { state: ctx.paths.state }, cameras: [{ id: 'cam-x', rtspUrl: rtsp.url }] }));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js'), '-c', cfgFile, ...(args.includes('--lang') ? [] : ['--lang', 'en']), ...args], { encoding: 'utf8' });
    const range = ['--from', formatIso(from), '--to', formatIso(to)];
    const list = cli('recordings', 'list', 'cam-x', ...range, '--json');
    expect(list.status).toBe(0);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(4);
    const gaps = cli('--lang', 'zh', 'recordings', 'gaps', 'cam-x', ...range);
    expect(gaps.status).toBe(0);
    expect(gaps.stdout).toContain('代理已停止');
    const gapsJson = JSON.parse(cli('recordings', 'gaps', '--json', ...range).stdout) as Array<{ reason: string; reasonText: { en: string } }>;
    expect(gapsJson[0]).toMatchObject({ reason: 'agent stopped', reasonText: { en: 'agent stopped' } });
    const clip2 = path.join(ctx.paths.state, 'clip2.mp4');
    // sources[1] was changed above: the CLI refuses to export it, exit 1, and says why
    const refused = cli('export-video', 'cam-x', ...range, '-o', clip2);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('differs from what was indexed');
    const ok = cli('export-video', 'cam-x', '--from', formatIso(segs[2].start_ms), '--to', formatIso(to), '-o', clip2);
    expect(ok.stdout).toContain('Manifest verified');
    expect(ok.status).toBe(0);
    expect(cli('recordings', 'list', 'nope').status).toBe(2);
    expect(cli('recordings', 'list', 'cam-x', '--from', 'yesterday').status).toBe(2);
  }, 120_000);
});
