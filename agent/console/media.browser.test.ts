/// <reference lib="dom" />
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../core/paths.js';
import { runFfmpegToBuffer } from '../ffmpeg/run.js';
import { LessonMonitor } from '../lessons/monitor.js';
import { Recorder } from '../recorder/recorder.js';
import { makeContext } from '../recorder/testkit.js';
import { RtspServer } from '../sim/rtsp/server.js';
import { ClassRepo } from '../store/classes.js';
import { ConsoleRepo } from '../store/console.js';
import { refOf } from '../store/evidence-log.js';
import { FaceRepo } from '../store/faces.js';
import { RecordingRepo } from '../store/recordings.js';
import { sealCrop } from '../vision/gallery.js';
import { loadFaceKey } from '../vision/keysource.js';
import { hashPassword } from './auth.js';
import { ConsoleServer } from './server.js';
import { launchChromium, loginPage, recorderLikeFmp4 } from './testkit.js';

/**
 * The console's face images, codec strings, H.265 cameras and pushed lesson states, in Debian's
 * headless Chromium against one daemon: an H.265 RTSP camera (GStreamer x265enc) recorded by the
 * real recorder, its H.264 High-profile sub stream on a second simulated camera, the lesson
 * monitor, and segments of other profiles written by ffmpeg (libx264 High and Baseline).
 * Screenshots go to test-artifacts/console/.
 */
const ART = path.join(PACKAGE_ROOT, 'test-artifacts', 'console');
const PW = 'demo-pass-2025';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** A recorder-like fMP4 (same movflags) of 2 s from ffmpeg's test source, in the given H.264 profile. */
const h264File = (profile: 'high' | 'baseline') => recorderLikeFmp4(2, ['-c:v', 'libx264', '-profile:v', profile, '-g', '25', '-pix_fmt', 'yuv420p']);

describe('console media in headless Chromium: face images, codecs, H.265, pushed lesson states', () => {
  let main: RtspServer;
  let sub: RtspServer;
  let ctx: ReturnType<typeof makeContext>;
  let rec: Recorder;
  let monitor: LessonMonitor;
  let con: ConsoleServer;
  let browser: Browser;
  let base: string;
  let matchId: number;
  let mix: { from: number; to: number };

  beforeAll(async () => {
    fs.mkdirSync(ART, { recursive: true });
    [main, sub] = await Promise.all([
      new RtspServer({ codec: 'h265', width: 320, height: 240, keyint: 25, bitrateKbps: 300 }).start(),
      new RtspServer({ codec: 'h264', profile: 'high', width: 320, height: 240, keyint: 25, bitrateKbps: 300 }).start(),
    ]);
    ctx = makeContext({
      cameras: [{ id: 'cam-h265', rtspUrl: main.url, subRtspUrl: sub.url }],
      recorder: { segmentSeconds: 3 },
      console: { listen: { host: '127.0.0.1', port: 0 } },
      monitor: { tickSeconds: 1 },
      vision: { enabled: false },
      sync: { enabled: false },
    });
    const users = new ConsoleRepo(ctx.store);
    users.addUser('tech', 'technician', await hashPassword(PW));
    users.addUser('school', 'school', await hashPassword(PW));
    users.addUser('insp', 'inspector', await hashPassword(PW));
    const t0 = Date.now();
    new ClassRepo(ctx.store).save(
      {
        id: 'C1',
        name: '电工',
        timezone: 'Asia/Shanghai',
        room: 'room-1',
        trainees: [
          { id: 'T1', name: '张三', terminalIds: ['1001'] },
          { id: 'T2', name: '李四', terminalIds: ['1002'] },
        ],
        teachers: [{ id: 'K1', certified: true }],
        lessons: [{ id: 'L1', kind: 'practical', start: t0 - 60_000, end: t0 + 3_600_000, cameras: ['cam-h265'], makeUp: false }],
      },
      'henan-2025',
    );
    rec = new Recorder(ctx);
    await rec.start();
    const repo = new RecordingRepo(ctx.store);
    await until('two H.265 segments', () => repo.segments('cam-h265').filter((s) => s.end_ms > s.start_ms).length >= 2, 90_000);

    // a sighting of T1 as vision stores it: consent, one matched frame (promoted at once), its crop sealed with the face key
    const faces = new FaceRepo(ctx.store);
    faces.giveConsent('T1', { recordedBy: 'test', method: 'paper' }, t0 - 3_600_000);
    const seg = repo.segments('cam-h265')[0];
    faces.recordFrame(
      { camera: 'cam-h265', at: seg.start_ms + 500, recordingId: seg.id, offsetMs: 500, classId: 'C1', lessonId: 'L1', faces: 1, matched: 1, unknown: 0 },
      [
        {
          classId: 'C1',
          lessonId: 'L1',
          trainee: 'T1',
          camera: 'cam-h265',
          at: seg.start_ms + 500,
          recordingId: seg.id,
          offsetMs: 500,
          distance: 0.3,
          margin: 0.2,
          box: { x: 10, y: 10, width: 64, height: 64 },
        },
      ],
      1,
    );
    matchId = faces.matchId(seg.id, 500, 'L1', 'T1')!;
    const jpeg = await runFfmpegToBuffer(['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x64', '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1']);
    expect(faces.addMatchCrop(matchId, 'T1', sealCrop(loadFaceKey(ctx.cfg), 'T1', matchId, jpeg))).toBe(true);

    // another camera's folder: a High-profile segment, then a Baseline one (a camera reconfigured), indexed as the recorder would
    const day = path.join(ctx.paths.video, 'cam-mix', '2026-01-05');
    fs.mkdirSync(day, { recursive: true });
    const t1 = t0 - 600_000;
    for (const [i, profile] of (['high', 'baseline'] as const).entries()) {
      const file = path.join(day, `20260105T000000000Z_r1_0000${i}.mp4`);
      const bytes = await h264File(profile);
      fs.writeFileSync(file, bytes);
      repo.addSegment({ camera: 'cam-mix', path: file, start: t1 + i * 2000, end: t1 + (i + 1) * 2000, bytes: bytes.length, sha256: `${i}`.repeat(64) });
    }
    mix = { from: t1 - 500, to: t1 + 4500 };
    // an H.265 camera without a sub stream: a copy of a recorded H.265 segment in its own folder
    const nosub = path.join(ctx.paths.video, 'cam-nosub', '2026-01-05');
    fs.mkdirSync(nosub, { recursive: true });
    fs.copyFileSync(seg.path, path.join(nosub, path.basename(seg.path)));

    monitor = new LessonMonitor(ctx);
    await monitor.start();
    con = new ConsoleServer(ctx);
    await con.start();
    base = `http://127.0.0.1:${con.port}`;
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await con?.stop();
    await monitor?.stop();
    await rec?.stop();
    await Promise.all([main?.stop(), sub?.stop()]);
    ctx?.cleanup();
  });

  const login = (user: string) => loginPage(browser, base, user, PW);

  const faceViews = () => new ConsoleRepo(ctx.store).access(0, 5000).filter((a) => a.action === 'view:face');

  it('face images: off by default (no image, 403 for every role); when the school enables them, school and inspector see the crop, the technician does not', async () => {
    expect(ctx.cfg.console.showFaceImages).toBe(false);
    // one page per role, kept across the switch (a login costs a slow scrypt check)
    const pages = new Map<string, Page>();
    for (const user of ['school', 'insp', 'tech']) pages.set(user, await login(user));
    for (const [user, page] of pages) {
      await page.goto(`${base}/#/lesson/C1/L1`);
      await page.waitForSelector('#seen');
      expect(await page.textContent('#seen')).toContain('T1');
      expect(await page.locator('img.face').count(), user).toBe(0);
      const r = await page.request.get(`${base}/api/face/${matchId}`);
      expect(r.status()).toBe(403);
      expect((await r.json()).error).toContain('showFaceImages');
    }
    expect(faceViews().map((a) => `${a.user} ${a.outcome}`)).toEqual(expect.arrayContaining(['school denied', 'insp denied', 'tech denied']));

    // the school sets console.showFaceImages: true in the box's config (read per request)
    ctx.cfg.console.showFaceImages = true;
    for (const user of ['school', 'insp']) {
      const page = pages.get(user)!;
      await page.goto(`${base}/#/class/C1`);
      await page.reload();
      await page.waitForSelector('#class');
      expect(await page.locator('img.face').count()).toBe(1);
      await page.goto(`${base}/#/lesson/C1/L1`);
      await page.waitForSelector('#seen img.face');
      await page.waitForFunction(() => (document.querySelector('#seen img.face') as HTMLImageElement).complete, null, { timeout: 15_000 });
      expect(await page.evaluate(() => (document.querySelector('#seen img.face') as HTMLImageElement).naturalWidth)).toBe(64);
      const r = await page.request.get(`${base}/api/face/${matchId}`);
      expect(r.status()).toBe(200);
      expect(r.headers()['content-type']).toBe('image/jpeg');
      expect(r.headers()['cache-control']).toBe('no-store');
      expect((await r.body()).subarray(0, 2).toString('hex')).toBe('ffd8'); // a JPEG, decrypted
      if (user === 'school') await page.screenshot({ path: path.join(ART, 'lesson-faces.png'), fullPage: true });
    }
    const tech = pages.get('tech')!;
    await tech.goto(`${base}/#/class/C1`);
    await tech.reload();
    await tech.waitForSelector('#class');
    await tech.goto(`${base}/#/lesson/C1/L1`);
    await tech.waitForSelector('#seen');
    expect(await tech.locator('img.face').count()).toBe(0);
    const r = await tech.request.get(`${base}/api/face/${matchId}`);
    expect(r.status()).toBe(403);
    expect((await r.json()).error).toContain('无权');
    // a match without a crop, and junk ids
    expect((await pages.get('insp')!.request.get(`${base}/api/face/999999`)).status()).toBe(404);
    expect((await tech.request.get(`${base}/api/face/..%2F1`)).status()).toBe(404);
    for (const p of pages.values()) await p.close();
    // every view, allowed or not, is an access entry (and so an evidence-log fact)
    const views = faceViews().map((a) => `${a.user} ${a.outcome} ${a.subject}`);
    expect(views).toEqual(expect.arrayContaining([`school ok match ${matchId}`, `insp ok match ${matchId}`, `tech denied match ${matchId}`]));
    const inLog = ctx.store.db.prepare('SELECT COUNT(*) FROM evidence_log WHERE ref = ?').pluck();
    for (const a of faceViews()) expect(inLog.get(refOf('console_access', [a.id])), `access entry ${a.id} in the evidence log`).toBe(1);
    ctx.cfg.console.showFaceImages = false;
  }, 180_000);

  it('playback takes each segment’s own codec string: High, then Baseline (changeType at the boundary)', async () => {
    const page = await login('school');
    await page.goto(`${base}/#/play/cam-mix?from=${mix.from}&to=${mix.to}`);
    await page.waitForFunction(() => (document.getElementById('play') as HTMLVideoElement)?.currentTime > 0.5, null, { timeout: 30_000 });
    // across the boundary into the Baseline segment (media time: 0.5 s before the first, 2 s each)
    await page.waitForFunction(() => (document.getElementById('play') as HTMLVideoElement).currentTime > 3.2, null, { timeout: 30_000 });
    const st = await page.evaluate(() => ({ play: (window as any).__console.play, err: (document.getElementById('play') as HTMLVideoElement).error }));
    expect(st.err).toBeNull();
    expect(st.play.error).toBeNull();
    expect(st.play.unsupported).toEqual([]);
    // libx264 High 4:2:0 at this size: avc1.64000d; Baseline: constraint_set0/1 flags (0xC0)
    expect(st.play.codecs).toHaveLength(2);
    expect(st.play.codecs[0]).toMatch(/^avc1\.6400[0-9a-f]{2}$/);
    expect(st.play.codecs[1]).toMatch(/^avc1\.42c0[0-9a-f]{2}$/);
    await page.close();
  }, 90_000);

  it('H.265: live view moves to the H.264 sub stream while someone watches; without a sub stream, and in playback, it says what to fix and offers the clip', async () => {
    const page = await login('insp');
    await page.goto(`${base}/#/live/cam-h265`);
    await page.waitForFunction(() => (window as any).__console.live?.fragments > 2 && (document.getElementById('live') as HTMLVideoElement).currentTime > 0.3, null, { timeout: 60_000 });
    const live = await page.evaluate(() => ({ live: (window as any).__console.live, err: (document.getElementById('live') as HTMLVideoElement).error }));
    expect(live.err).toBeNull();
    expect(live.live.error).toBeNull();
    expect(live.live.source).toBe('sub');
    expect(live.live.codec).toMatch(/^avc1\.64/); // the sub stream is High profile
    await page.waitForSelector('#sub-stream');
    await page.screenshot({ path: path.join(ART, 'live-h265-sub.png'), fullPage: true });
    // the recorder's H.265 is still what is recorded
    const hub = (con as unknown as { hub: { subFeed(c: string): { connected: boolean; viewerCount: number } | undefined } }).hub;
    expect(hub.subFeed('cam-h265')?.connected).toBe(true);
    // the last viewer leaves: the second connection to the camera closes
    await page.goto(`${base}/#/cameras`);
    // the cameras page must have drawn before the next navigation: its answer arriving late would
    // draw over the next page (the console's routes do not cancel a slower earlier one)
    await page.waitForSelector('a[href^="#/play/cam-h265"]', { timeout: 30_000 });
    await until('the sub stream connection to close', () => hub.subFeed('cam-h265')?.connected === false, 30_000);

    // an H.265 camera without a sub stream: the page names the fix
    await page.goto(`${base}/#/live/cam-nosub`);
    await page.waitForFunction(() => (window as any).__console.live?.unsupported, null, { timeout: 30_000 });
    const text = await page.textContent('#live-status');
    expect(text).toContain('H.265');
    expect(text).toContain('H.264');
    expect(text).toContain('subRtspUrl');
    await page.screenshot({ path: path.join(ART, 'live-h265-unsupported.png'), fullPage: true });

    // playback of H.265: not in the player; the message and the clip download instead
    const segs = new RecordingRepo(ctx.store).segments('cam-h265').filter((s) => s.end_ms > s.start_ms);
    const from = segs[0].start_ms;
    const to = segs[1].end_ms;
    await page.goto(`${base}/#/play/cam-h265?from=${from}&to=${to}`);
    await page.waitForSelector('#codec-help');
    const play = await page.evaluate(() => (window as any).__console.play);
    expect(play.unsupported[0]).toMatch(/^(hvc1|hev1)\.1\./); // Main profile
    expect(await page.textContent('#codec-help')).toContain('H.265');
    const href = await page.getAttribute('#clip', 'href');
    const clip = await page.request.get(`${base}${href}`);
    expect(clip.status()).toBe(200);
    expect((await clip.body()).length).toBeGreaterThan(1000);
    await page.screenshot({ path: path.join(ART, 'play-h265.png'), fullPage: true });
    await page.close();
  }, 180_000);

  it('today shows lesson.live as the monitor pushes it, without a reload', async () => {
    const page = await login('school');
    await page.waitForSelector('tr[data-lesson="C1/L1"] td.state[data-state="ok"]', { timeout: 30_000 });
    await page.evaluate(() => ((window as any).__marker = 'same page'));
    // the recorder stops ('agent stopped' gap): the practical lesson is at risk while it can still be saved
    await rec.stop();
    await page.waitForSelector('tr[data-lesson="C1/L1"] td.state[data-state="at-risk"]', { timeout: 60_000 });
    expect(await page.textContent('tr[data-lesson="C1/L1"] td.state')).toContain('有风险');
    await page.screenshot({ path: path.join(ART, 'today-at-risk.png'), fullPage: true });
    // recording again: back to ok
    rec = new Recorder(ctx);
    await rec.start();
    await page.waitForSelector('tr[data-lesson="C1/L1"] td.state[data-state="ok"]', { timeout: 90_000 });
    const st = await page.evaluate(() => ({ marker: (window as any).__marker, updates: (window as any).__console.today.updates }));
    expect(st.marker).toBe('same page');
    expect(st.updates).toBeGreaterThanOrEqual(2);
    expect(new ConsoleRepo(ctx.store).access(0, 5000).some((a) => a.action === 'view:events' && a.user === 'school')).toBe(true);
    await page.close();
  }, 180_000);
});
