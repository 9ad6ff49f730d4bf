import { describe, expect, it } from 'vitest';
import { recordArgs } from '../ffmpeg/args.js';
import { locate } from '../ffmpeg/locate.js';
import { Backoff } from '../core/backoff.js';
import { parseCsvLine, parseSegmentName, runPattern, segmentPath } from './segments.js';
import { withCredentials } from '../cameras/stream.js';
import { Recorder } from './recorder.js';
import { RecordingRepo } from '../store/recordings.js';
import { makeContext } from './testkit.js';

describe('recorder building blocks', () => {
  it('backoff doubles from 1 s to 60 s with jitter between half and all of the step, and resets', () => {
    const lo = new Backoff(1000, 60_000, () => 0);
    const hi = new Backoff(1000, 60_000, () => 1);
    const los = Array.from({ length: 9 }, () => lo.next());
    const his = Array.from({ length: 9 }, () => hi.next());
    expect(his).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    expect(los).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    hi.reset();
    expect(hi.next()).toBe(1000);
  });

  it('parses the segment list CSV, quoted names included', () => {
    expect(parseCsvLine('a_r1_00000.mp4,0.000000,11.897266')).toEqual({ file: 'a_r1_00000.mp4', startSec: 0, endSec: 11.897266 });
    expect(parseCsvLine('"x,y.mp4",1.5,2.5')).toEqual({ file: 'x,y.mp4', startSec: 1.5, endSec: 2.5 });
    expect(parseCsvLine('garbage')).toBeUndefined();
  });

  it('names segments uniquely by run start and run id', () => {
    const p = runPattern('/v/cam/2026-11-27', 12, Date.UTC(2026, 10, 27, 1, 2, 3, 456));
    expect(p).toBe('/v/cam/2026-11-27/20261127T010203456Z_r12_%05d.mp4');
    expect(segmentPath(p, 7)).toBe('/v/cam/2026-11-27/20261127T010203456Z_r12_00007.mp4');
    expect(parseSegmentName(segmentPath(p, 7))).toEqual({ runId: 12, n: 7, repaired: false });
    expect(parseSegmentName('20261127T010203456Z_r12_00007.repaired.mp4')).toEqual({ runId: 12, n: 7, repaired: true });
  });

  it('records with stream copy over TCP, fragmented MP4 and the segment list in a file', () => {
    const a = recordArgs({ url: 'rtsp://h/cam', transport: 'tcp', segmentSeconds: 60, outPattern: '/v/x_%05d.mp4', ioTimeoutSeconds: 15, segmentList: '/v/x.csv' }).join(' ');
    expect(a).toContain('-rtsp_transport tcp -timeout 15000000');
    expect(a).toContain('-c:v copy -an');
    expect(a).toContain('-segment_time 60');
    expect(a).toContain('frag_keyframe+empty_moov');
    expect(a).toContain('-segment_list /v/x.csv -segment_list_type csv');
    expect(a).not.toMatch(/libx264|-c:v h264/);
  });

  it('finds ffmpeg and puts credentials into a URL without them', () => {
    expect(locate('ffmpeg')).toMatch(/ffmpeg$/);
    expect(locate('ffprobe')).toMatch(/ffprobe$/);
    expect(withCredentials('rtsp://10.0.0.5:554/s', 'admin', 'p@ss:1')).toBe('rtsp://admin:p%40ss%3A1@10.0.0.5:554/s');
    expect(withCredentials('rtsp://u:p@10.0.0.5/s', 'admin', 'x')).toBe('rtsp://u:p@10.0.0.5/s');
  });

  it('an unreachable camera opens a "camera unreachable" gap whose detail never holds the password', async () => {
    const ctx = makeContext({ cameras: [{ id: 'cam-x', rtspUrl: 'rtsp://127.0.0.1:1/cam', username: 'admin', password: 's3cret-pw' }], recorder: { schedule: 'always' } });
    const repo = new RecordingRepo(ctx.store);
    const rec = new Recorder(ctx);
    await rec.start();
    const end = Date.now() + 15_000;
    while (Date.now() < end && !repo.gaps('cam-x').length) await new Promise((r) => setTimeout(r, 100));
    await rec.stop();
    const g = repo.gaps('cam-x');
    expect(g[0].reason).toBe('camera unreachable');
    const all = JSON.stringify(ctx.store.db.prepare('SELECT * FROM recording_gaps').all()) + JSON.stringify(ctx.store.db.prepare('SELECT payload FROM outbox').all());
    expect(all).not.toContain('s3cret-pw');
    ctx.cleanup();
  }, 30_000);
});

describe('recovery scan window', () => {
  it('skips day folders older than the day before the newest indexed segment', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const os = await import('node:os');
    const { listSegmentFiles } = await import('./segments.js');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-scan-'));
    for (const d of ['2026-01-01', '2026-11-26', '2026-11-27']) {
      fs.mkdirSync(path.join(root, d));
      fs.writeFileSync(path.join(root, d, `x_r1_00000.mp4`), '');
    }
    expect(listSegmentFiles(root).length).toBe(3);
    expect(listSegmentFiles(root, '2026-11-26').map((f) => path.basename(path.dirname(f)))).toEqual(['2026-11-26', '2026-11-27']);
  });
});

describe('the ffmpeg shipped in npm (@ffmpeg-installer, a 2018 4.x build) as fallback', () => {
  it('records and indexes with it too (its socket timeout is -stimeout; -timeout would mean listen)', async () => {
    const { createRequire } = await import('node:module');
    const { RtspServer } = await import('../sim/rtsp/server.js');
    const { rtspTimeoutFlag } = await import('../ffmpeg/caps.js');
    const req = createRequire(import.meta.url);
    const npmFfmpeg = (req('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    const npmFfprobe = (req('@ffprobe-installer/ffprobe') as { path: string }).path;
    expect(rtspTimeoutFlag(npmFfmpeg)).toBe('-stimeout');
    const rtsp = await new RtspServer({ keyint: 25 }).start();
    const ctx = makeContext({ cameras: [{ id: 'cam-npm', rtspUrl: rtsp.url }], recorder: { schedule: 'always', segmentSeconds: 2, ffmpegPath: npmFfmpeg, ffprobePath: npmFfprobe } });
    const repo = new RecordingRepo(ctx.store);
    const rec = new Recorder(ctx);
    await rec.start();
    const end = Date.now() + 20_000;
    while (Date.now() < end && repo.segments('cam-npm').length < 2) await new Promise((r) => setTimeout(r, 200));
    await rec.stop();
    await rtsp.stop();
    const segs = repo.segments('cam-npm');
    expect(segs.length).toBeGreaterThanOrEqual(2);
    expect(segs[0].end_ms - segs[0].start_ms).toBeGreaterThan(1000);
    ctx.cleanup();
  }, 40_000);
});
