import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../core/log.js';
import { locate } from '../ffmpeg/locate.js';
import { probeFile } from '../ffmpeg/run.js';
import { RecordingRepo } from '../store/recordings.js';
import { Store } from '../store/store.js';
import { inspectFmp4 } from './fmp4.js';
import { recoverSegments } from './recovery.js';

/** Top-level boxes of an MP4 file: [type, offset, size]. */
function boxes(buf: Buffer): Array<[string, number, number]> {
  const out: Array<[string, number, number]> = [];
  for (let off = 0; off + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(off);
    out.push([buf.toString('latin1', off + 4, off + 8), off, size]);
    off += size;
  }
  return out;
}

/** Frames ffmpeg decodes from a file (throws if it cannot read it). */
function decodedFrames(file: string): number {
  const out = execFileSync(locate('ffprobe'), ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(out.trim());
}

describe('cut segment files (fragmented MP4 as the recorder writes it)', () => {
  let dir: string;
  let src: Buffer;
  let firstFragmentEnd: number;
  let secondFragmentEnd: number;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-fmp4-'));
    const file = path.join(dir, 'src.mp4');
    // the recorder's own muxer options (args.ts), on a small H.264 picture so that every byte
    // length of the first fragment can be tried
    execFileSync(locate('ffmpeg'), [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=96x64:rate=10',
      '-t',
      '3',
      '-c:v',
      'libx264',
      '-g',
      '10',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'mp4',
      '-movflags',
      '+frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration',
      '1000000',
      file,
    ]);
    src = fs.readFileSync(file);
    const b = boxes(src);
    const mdats = b.filter(([t]) => t === 'mdat');
    firstFragmentEnd = mdats[0][1] + mdats[0][2];
    secondFragmentEnd = mdats[1][1] + mdats[1][2];
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a whole file as whole, with its fragments', () => {
    const i = inspectFmp4(path.join(dir, 'src.mp4'));
    expect(i).toMatchObject({ header: true, intact: true, size: src.length, completeBytes: src.length });
    expect(i.fragments).toBeGreaterThanOrEqual(3);
  });

  it('measures the duration of the whole fragments as ffprobe does (recovery dates files with it, no ffprobe started)', async () => {
    const whole = inspectFmp4(path.join(dir, 'src.mp4'));
    const probed = await probeFile(path.join(dir, 'src.mp4'));
    expect(whole.video).toBe(true);
    expect(Math.abs(whole.durationSec - probed.durationSec)).toBeLessThan(0.15);
    // a file cut inside its second fragment: only the first fragment's time, which ffprobe reads from the repaired copy
    const cut = path.join(dir, 'cut-second.mp4');
    fs.writeFileSync(cut, src.subarray(0, secondFragmentEnd - 1));
    const first = path.join(dir, 'first-only.mp4');
    fs.writeFileSync(first, src.subarray(0, firstFragmentEnd));
    const c = inspectFmp4(cut);
    expect(c).toMatchObject({ intact: false, fragments: 1, completeBytes: firstFragmentEnd });
    expect(Math.abs(c.durationSec - (await probeFile(first)).durationSec)).toBeLessThan(0.15);
    expect(c.durationSec).toBeGreaterThan(0);
    expect(c.durationSec).toBeLessThan(whole.durationSec);
    // nothing whole: no time
    const head = path.join(dir, 'head.mp4');
    fs.writeFileSync(head, src.subarray(0, firstFragmentEnd - 1));
    expect(inspectFmp4(head)).toMatchObject({ fragments: 0, durationSec: 0 });
  });

  it('a file cut at every byte length up to the end of its first fragment is never indexed as a segment; each is described, kept', async () => {
    const cuts = path.join(dir, 'cam', '2026-11-30');
    fs.mkdirSync(cuts, { recursive: true });
    for (let len = 0; len < firstFragmentEnd; len++) fs.writeFileSync(path.join(cuts, `20261130T000000000Z_r${len + 1000}_00000.mp4`), src.subarray(0, len));
    // the first length that holds one whole frame, and one cut inside the second fragment
    fs.writeFileSync(path.join(cuts, '20261130T000000000Z_r1_00000.mp4'), src.subarray(0, firstFragmentEnd));
    fs.writeFileSync(path.join(cuts, '20261130T000000000Z_r2_00000.mp4'), src.subarray(0, secondFragmentEnd - 1));
    const store = new Store({ file: path.join(dir, 'evidence.db') });
    try {
      const repo = new RecordingRepo(store);
      const r = await recoverSegments({ camera: 'cam', cameraDir: path.join(dir, 'cam'), repo, log: logger('recorder') });
      const segs = repo.segments('cam');
      // only the two files holding whole frames are segments
      expect(segs.map((s) => path.basename(s.path)).sort()).toEqual(['20261130T000000000Z_r1_00000.mp4', '20261130T000000000Z_r2_00000.repaired.mp4']);
      for (const s of segs) {
        expect(s.end_ms).toBeGreaterThan(s.start_ms);
        expect(decodedFrames(s.path)).toBeGreaterThan(0);
        expect((await probeFile(s.path)).hasVideo).toBe(true);
      }
      // the repaired copy is the original's first bytes, exactly its first whole fragment
      const rep = segs.find((s) => s.path.endsWith('.repaired.mp4'))!;
      expect(fs.readFileSync(rep.path).equals(src.subarray(0, firstFragmentEnd))).toBe(true);
      // every cut file is described and still on disk, untouched
      const described = repo.cuts('cam');
      expect(described).toHaveLength(firstFragmentEnd + 1);
      expect(r.cuts).toHaveLength(firstFragmentEnd + 1);
      for (const c of described) {
        expect(fs.statSync(c.path).size).toBe(c.bytes);
        if (c.repaired_path) expect(c.fragments).toBe(1);
        else expect(c.fragments).toBe(0);
      }
      // a second pass finds nothing new: every file is accounted for
      const again = await recoverSegments({ camera: 'cam', cameraDir: path.join(dir, 'cam'), repo, log: logger('recorder') });
      expect(again.recovered).toHaveLength(0);
      expect(again.cuts).toHaveLength(0);
    } finally {
      store.close();
    }
  }, 300_000);
});
