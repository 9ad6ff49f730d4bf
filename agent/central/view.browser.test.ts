/// <reference lib="dom" />
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../console/auth.js';
import { sha256File } from '../core/hash.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { Inspection } from '../inspection/inspection.js';
import { makeContext } from '../recorder/testkit.js';
import { NginxRtmp } from '../sim/media/nginx.js';
import { TestPostgres } from '../sim/postgres.js';
import { RtspServer } from '../sim/rtsp/server.js';
import { Outbox } from '../store/outbox.js';
import { SyncClient } from '../sync/client.js';
import { startAedes, tempDir, waitFor, type AedesBroker } from '../sync/testkit.js';
import { CentralService } from './service.js';
import { seedSegments } from './testkit.js';

/**
 * The supervisor's view at the central, in Debian's headless Chromium (playwright-core, as the
 * console's test), against real parts: PostgreSQL, an MQTT broker (aedes), nginx with its RTMP
 * module as the media server, the box's sync and inspection modules with a simulated RTSP
 * camera. The box's 3.5 minutes of recordings are real MP4 files made by ffmpeg and indexed
 * through the store's own functions, so their `segment` records reach the central as they
 * would from the recorder, and a clip's manifest is checked against them.
 * Screenshots go to test-artifacts/central/ (git-ignored).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ART = path.join(PACKAGE_ROOT, 'test-artifacts', 'central');
const PW = 'supervise-2025!';
const BOX = 'box-henan-1';
const SEG_S = 30;
const SEGS = 7;

describe('supervisor view in headless Chromium: live inspection and playback on request', () => {
  let pg: TestPostgres;
  let broker: AedesBroker;
  let media: NginxRtmp;
  let rtsp: RtspServer;
  let service: CentralService;
  let ctx: ReturnType<typeof makeContext>;
  let sync: SyncClient;
  let ins: Inspection;
  let browser: Browser;
  let base: string;
  let recordedUntil = 0;

  beforeAll(async () => {
    fs.mkdirSync(ART, { recursive: true });
    [pg, broker, media, rtsp] = await Promise.all([new TestPostgres().start(), startAedes(), new NginxRtmp().start(), new RtspServer({ keyint: 25 }).start()]);
    service = new CentralService({
      receiver: { url: broker.url, prefix: 'classroom/v1', group: '', host: 'prov-1' },
      db: pg.url(),
      clipSecret: 'province-clip-secret',
      clipDir: tempDir('central-clips'),
      view: { hlsBase: `http://127.0.0.1:${media.httpPort}/hls`, maxLiveSeconds: 120 },
    });
    await service.start();
    await service.viewDb.setSupervisor('insp', await hashPassword(PW), Date.now());
    ctx = makeContext({
      box: { id: BOX },
      cameras: [{ id: 'cam-1', rtspUrl: rtsp.url }],
      sync: { url: broker.url, reconnectMinMs: 50, reconnectMaxMs: 300 },
      inspection: { pushUrl: media.ingest, uploadUrl: service.intake.url },
    });
    // 3.5 minutes of recordings, made at once (testkit.ts)
    const seeded = await seedSegments(ctx, 'cam-1', { count: SEGS, seconds: SEG_S });
    recordedUntil = seeded.end;
    const first = seeded.first;
    // what the classes and check-ins tables show: records as the box's evidence module sends them
    const ob = new Outbox(ctx.store);
    ob.enqueue('checkin', first, { id: 1, terminal: 'gate-1', protocol: 'zkteco', person: '1001', trainee: 'T1', classId: 'C1', at: first });
    ob.enqueue('class-verdict', first + 1000, {
      classId: 'C1',
      profile: 'henan-2025',
      eligible: false,
      violations: [{ rule: 'checkin.missing', message: 'T2 has no check-in on lesson L1', messageZh: 'T2 在 L1 课次没有签到' }],
      warnings: [],
      lessons: [],
      trainees: [],
    });
    sync = new SyncClient(ctx);
    ins = new Inspection(ctx);
    await sync.start();
    await ins.start();
    await waitFor(() => sync.isConnected, 20_000, 'box connected');
    const last = (await sha256File(seeded.files.at(-1)!)).sha256;
    for (const t = Date.now(); !(await service.receiver.store.segmentBySha(BOX, last)); ) {
      if (Date.now() - t > 30_000) throw new Error(`the box's segment records did not reach the central in 30 s (outbox backlog ${new Outbox(ctx.store).backlog().count})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    base = `http://127.0.0.1:${service.view.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await ins?.stop();
    await sync?.stop();
    await service?.stop();
    ctx?.cleanup();
    await Promise.all([rtsp?.stop(), media?.stop(), broker?.close(), pg?.stop()]);
  });

  async function login(): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1200, height: 1400 } })).newPage();
    page.on('pageerror', (e) => console.error('page error', e.message));
    page.on('console', (m) => m.type() === 'error' && console.error('page console', m.text()));
    await page.goto(base);
    await page.fill('input[name=user]', 'insp');
    await page.fill('input[name=password]', PW);
    await page.click('form#login button');
    await page.waitForSelector('#live-form select option', { state: 'attached' });
    return page;
  }

  it('refuses without a session and with a wrong password, in both languages', async () => {
    for (const p of ['/api/overview', '/clips/00000000-0000-0000-0000-000000000000.mp4']) {
      const r = await fetch(`${base}${p}`);
      expect(r.status).toBe(401);
      expect(await r.text()).toMatch(/请先登录.*|login required/);
    }
    const bad = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'insp', password: 'wrong-pass-1' }) });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toMatch(/用户名或密码错误/);
    // a cross-site form cannot post (no JSON content type)
    const form = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'user=insp' });
    expect(form.status).toBe(400);
  });

  it('shows the box online, the class verdict and the check-in, Chinese first', async () => {
    const page = await login();
    await page.waitForFunction((box) => document.querySelector(`#boxes tr[data-box="${box}"]`)?.textContent?.includes('在线'), BOX, { timeout: 20_000 });
    const boxRow = await page.textContent(`#boxes tr[data-box="${BOX}"]`);
    expect(boxRow).toMatch(/在线\s*online/);
    expect(await page.textContent('#classes')).toMatch(/C1[\s\S]*不合规[\s\S]*T2 在 L1 课次没有签到/);
    expect(await page.textContent('#checkins')).toMatch(/gate-1[\s\S]*1001[\s\S]*T1/);
    await page.screenshot({ path: path.join(ART, 'overview.png'), fullPage: true });
    await page.close();
  });

  it('live inspection asked from the page plays through hls.js; a 3-minute playback arrives, verifies and plays', async () => {
    const page = await login();
    // live: from the click to the video playing (currentTime advancing, no media error)
    const t0 = Date.now();
    await page.click('#live-form button:not([type=button])');
    await page.waitForFunction(
      () => {
        const v = document.getElementById('live') as HTMLVideoElement;
        const s = (window as unknown as { __central: { live?: { error: string | null } } }).__central.live;
        if (s?.error || v.error) return true;
        return v.currentTime > 0.2 && !v.paused;
      },
      null,
      { timeout: 60_000, polling: 50 },
    );
    const liveMs = Date.now() - t0;
    const first = await page.evaluate(() => {
      const v = document.getElementById('live') as HTMLVideoElement;
      return { t: v.currentTime, err: v.error?.code ?? null, hls: (window as unknown as { __central: { live?: { error: string | null } } }).__central.live?.error ?? null };
    });
    expect(first).toMatchObject({ err: null, hls: null });
    await page.waitForFunction((t) => (document.getElementById('live') as HTMLVideoElement).currentTime > t + 1, first.t, { timeout: 20_000 });
    const steps = await page.evaluate(() => (window as unknown as { __central: { live: Record<string, unknown> } }).__central.live);
    console.log(
      `supervisor view: live inspection, click → video playing in Chromium in ${liveMs} ms (target ≤ 5000 ms; under load): central answered ${steps.answeredMs} ms, HLS playlist listed a fragment ${steps.playlistMs} ms, video playing ${steps.playingMs} ms`,
    );
    await page.waitForFunction(() => document.getElementById('live-msg')?.textContent?.includes('推流中'), null, { timeout: 20_000 });
    await page.screenshot({ path: path.join(ART, 'live.png'), fullPage: true });
    await page.click('#live-stop');
    const liveId = await page.evaluate(() => (window as unknown as { __central: { live: { id: string } } }).__central.live.id);
    await page.waitForFunction((id) => document.querySelector(`#requests tr[data-request="${id}"] .state`)?.textContent?.includes('已结束'), liveId, { timeout: 20_000 });

    // playback: the form's default is the last 3 minutes the box recorded
    const fromValue = await page.inputValue('#clip-form input[name=from]');
    expect(Date.parse(`${fromValue}Z`) - 8 * 3_600_000).toBe(recordedUntil - 180_000 - ((recordedUntil - 180_000) % 1000));
    await page.click('#clip-form button');
    await page.waitForFunction(() => (window as unknown as { __central: { clip?: unknown } }).__central.clip, null, { timeout: 10_000 });
    const clipId = await page.evaluate(() => (window as unknown as { __central: { clip: { id: string } } }).__central.clip.id);
    await page.waitForFunction(
      () => {
        const v = document.getElementById('clip') as HTMLVideoElement;
        return v.error !== null || (window as unknown as { __central: { clip: { error: string | null } } }).__central.clip.error !== null || v.currentTime > 1;
      },
      null,
      { timeout: 120_000, polling: 200 },
    );
    const clip = await page.evaluate(() => {
      const v = document.getElementById('clip') as HTMLVideoElement;
      return { t: v.currentTime, duration: v.duration, err: v.error?.code ?? null, pageErr: (window as unknown as { __central: { clip: { error: string | null } } }).__central.clip.error };
    });
    expect(clip).toMatchObject({ err: null, pageErr: null });
    expect(clip.duration).toBeGreaterThan(175);
    expect(clip.duration).toBeLessThan(185);
    expect(await page.textContent(`#requests tr[data-request="${clipId}"] .state`)).toMatch(/已上传[\s\S]*已校验/);
    const req = (await service.viewDb.requests()).find((r) => r.id === clipId)!;
    expect(req.clip).toEqual({ verified: true, problems: [] });
    // (an upload retried under load says 'uploading' again)
    expect([...new Set(req.states.map((s) => s.state))]).toEqual(['requested', 'exporting', 'uploading', 'uploaded']);
    // the clip is served with byte ranges (a browser seeks with them), only with a session
    const cookie = (await page.context().cookies()).find((c) => c.name === 'ca_central')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    const part = await fetch(`${base}/clips/${clipId}.mp4`, { headers: { cookie: `ca_central=${cookie.value}`, range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    await page.screenshot({ path: path.join(ART, 'playback.png'), fullPage: true });
    await page.close();
  }, 240_000);
});
