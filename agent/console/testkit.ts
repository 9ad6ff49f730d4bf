import { chromium, type Browser, type Page } from 'playwright-core';
import { runFfmpegToBuffer } from '../ffmpeg/run.js';

/**
 * The console's browser-test harness: Debian's Chromium (playwright-core's own download does
 * not reach this network) and a login through the real form.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

/** A fresh browser context logged in as this user, on the today page. */
export async function loginPage(browser: Browser, base: string, user: string, password: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 900, height: 1000 } })).newPage();
  page.on('pageerror', (e) => console.error('page error', e.message));
  await page.goto(`${base}/#/login`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('form#login button');
  await page.waitForSelector('#today');
  return page;
}

/**
 * Fragmented MP4 as the recorder writes it (same movflags, fragments of at most 0.5 s) from
 * ffmpeg's test source: `seconds` long, encoded with these options.
 */
export function recorderLikeFmp4(seconds: number, encoder: string[]): Promise<Buffer> {
  return runFfmpegToBuffer(
    ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', String(seconds), ...encoder].concat([
      '-f',
      'mp4',
      '-movflags',
      '+frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration',
      '500000',
      'pipe:1',
    ]),
    { timeoutMs: 60_000 },
  );
}
