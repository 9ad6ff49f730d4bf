import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logger } from '../core/log.js';
import { Fmp4Splitter, type Piece } from '../recorder/fmp4.js';
import { LiveFeed, type LiveMessage } from './live.js';
import { recorderLikeFmp4 } from './testkit.js';

/**
 * Fragmented MP4 as the recorder writes it (same movflags), from real ffmpeg: H.264 High
 * profile, 2 s GOP with fragments of at most 0.5 s, so some fragments start without a keyframe.
 */
const recorderLikeFile = () => recorderLikeFmp4(6, ['-c:v', 'libx264', '-profile:v', 'high', '-level', '3.1', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-pix_fmt', 'yuv420p']);

/** One 1 s fragmented MP4 from ffmpeg with these encoder options: the init segment's codec string. */
async function codecOf(encoder: string[]): Promise<string> {
  const init = new Fmp4Splitter().push(await recorderLikeFmp4(1, encoder))[0] as Extract<Piece, { kind: 'init' }>;
  return init.info.codec;
}

describe('codec strings (RFC 6381; ISO/IEC 14496-15 Annex E) from the init segment', () => {
  it('H.264 Baseline and High from avcC; H.265 Main and Main 10 from hvcC, as hev1 or hvc1', async () => {
    // Baseline: profile 66 (0x42) with constraint_set0/1 (0xC0); level 1.3 (0x0d) at this size
    expect(await codecOf(['-c:v', 'libx264', '-profile:v', 'baseline', '-level', '1.3', '-pix_fmt', 'yuv420p'])).toBe('avc1.42c00d');
    expect(await codecOf(['-c:v', 'libx264', '-profile:v', 'high', '-level', '4.0', '-pix_fmt', 'yuv420p'])).toBe('avc1.640028');
    // Main: profile_idc 1, compatibility flags 0x60000000 bit-reversed = 0x6, tier L, level 2 (60)
    expect(await codecOf(['-c:v', 'libx265', '-x265-params', 'log-level=error:level-idc=20', '-pix_fmt', 'yuv420p'])).toMatch(/^hev1\.1\.6\.L60(\.[0-9A-F]{1,2})*$/);
    expect(await codecOf(['-c:v', 'libx265', '-x265-params', 'log-level=error', '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1'])).toMatch(/^hvc1\.1\.6\.L\d+(\.[0-9A-F]{1,2})*$/);
    // Main 10: profile_idc 2, flags 0x20000000 reversed = 0x4
    expect(await codecOf(['-c:v', 'libx265', '-x265-params', 'log-level=error', '-pix_fmt', 'yuv420p10le'])).toMatch(/^hev1\.2\.4\.L\d+(\.[0-9A-F]{1,2})*$/);
  }, 120_000);
});

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
