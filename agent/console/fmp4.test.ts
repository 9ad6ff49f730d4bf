import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logger } from '../core/log.js';
import { runFfmpegToBuffer } from '../ffmpeg/run.js';
import { Fmp4Splitter, type Piece } from '../recorder/fmp4.js';
import { LiveFeed, type LiveMessage } from './live.js';

/**
 * Fragmented MP4 as the recorder writes it (same movflags), from real ffmpeg: H.264 High
 * profile, 2 s GOP with fragments of at most 0.5 s, so some fragments start without a keyframe.
 */
async function recorderLikeFile(): Promise<Buffer> {
  return runFfmpegToBuffer(
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=25',
      '-t',
      '6',
      '-c:v',
      'libx264',
      '-profile:v',
      'high',
      '-level',
      '3.1',
      '-g',
      '50',
      '-keyint_min',
      '50',
      '-sc_threshold',
      '0',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'mp4',
      '-movflags',
      '+frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration',
      '500000',
      'pipe:1',
    ],
    { timeoutMs: 60_000 },
  );
}

describe('fMP4 splitting', () => {
  it('finds the init segment, the codec from avcC, each fragment with its keyframe flag and duration, whatever the chunking', async () => {
    const file = await recorderLikeFile();
    const whole = new Fmp4Splitter().push(file);
    const init = whole[0] as Extract<Piece, { kind: 'init' }>;
    expect(init.kind).toBe('init');
    expect(init.info.codec).toBe('avc1.64001f'); // High (0x64), level 3.1 (0x1f)
    expect(init.info).toMatchObject({ width: 320, height: 240 });
    const frags = whole.filter((p): p is Extract<Piece, { kind: 'fragment' }> => p.kind === 'fragment');
    expect(frags.length).toBeGreaterThanOrEqual(10);
    // a keyframe every 2 s, fragments of 0.5 s: about one in four starts with one
    const keys = frags.filter((f) => f.info.key);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(keys.length).toBeLessThan(frags.length);
    expect(frags[0].info.key).toBe(true);
    const total = frags.reduce((s, f) => s + f.info.seconds, 0);
    expect(total).toBeCloseTo(6, 0);
    // decode times run on without holes
    for (let i = 1; i < frags.length; i++) expect(frags[i].info.baseSeconds).toBeCloseTo(frags[i - 1].info.baseSeconds + frags[i - 1].info.seconds, 2);
    // the same pieces when the bytes arrive in odd chunks (a file read while it grows)
    const s2 = new Fmp4Splitter();
    const pieces: Piece[] = [];
    let at = 0;
    while (at < file.length) {
      const n = 1 + Math.floor(Math.random() * 9000);
      pieces.push(...s2.push(file.subarray(at, at + n)));
      at += n;
    }
    expect(pieces.map((p) => p.data.length)).toEqual(whole.map((p) => p.data.length));
    expect(Buffer.concat(pieces.map((p) => p.data)).equals(Buffer.concat(whole.map((p) => p.data)))).toBe(true);
  }, 90_000);

  it('tails a growing segment file: a viewer gets init then each fragment; a joiner starts at the last keyframe', async () => {
    const file = await recorderLikeFile();
    const pieces = new Fmp4Splitter().push(file);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-live-'));
    const day = path.join(dir, 'cam-1', '2026-01-05');
    fs.mkdirSync(day, { recursive: true });
    const seg = path.join(day, '20260105T010000000Z_r1_00000.mp4');
    // the recorder has written the init and the first 5 fragments when the first viewer comes
    let written = pieces[0].data.length + pieces.slice(1, 6).reduce((s, p) => s + p.data.length, 0);
    fs.writeFileSync(seg, file.subarray(0, written));
    const feed = new LiveFeed('cam-1', path.join(dir, 'cam-1'), logger('console'), 20);
    const a: LiveMessage[] = [];
    const leaveA = feed.add((m) => a.push(m));
    expect(a[0]?.kind).toBe('init');
    // joined mid-segment: the fragments since the last keyframe, not the whole file
    const firstFrag = a[1] as Extract<LiveMessage, { kind: 'fragment' }>;
    expect(firstFrag.key).toBe(true);
    expect(a.length).toBeLessThan(6 + 1);
    // the recorder writes on, fragment by fragment
    for (const p of pieces.slice(6)) {
      fs.appendFileSync(seg, p.data);
      written += p.data.length;
      await new Promise((r) => setTimeout(r, 40));
    }
    await new Promise((r) => setTimeout(r, 100));
    const sent = a.filter((m) => m.kind === 'fragment').length;
    expect(sent).toBeGreaterThanOrEqual(pieces.length - 6);
    // a second viewer costs no second reader: it gets init + the current GOP from memory
    const b: LiveMessage[] = [];
    const leaveB = feed.add((m) => b.push(m));
    expect(b[0].kind).toBe('init');
    expect((b[1] as Extract<LiveMessage, { kind: 'fragment' }>).key).toBe(true);
    expect(feed.viewerCount).toBe(2);
    // the next segment: the feed moves to it and sends its init
    const next = path.join(day, '20260105T010000000Z_r1_00001.mp4');
    fs.writeFileSync(next, file.subarray(0, pieces[0].data.length + pieces[1].data.length));
    const before = b.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(b.slice(before).map((m) => m.kind)).toEqual(['init', 'fragment']);
    leaveA();
    leaveB();
    expect(feed.viewerCount).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 90_000);
});
