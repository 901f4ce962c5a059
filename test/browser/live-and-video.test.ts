import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../support/chromium.js';
import { SCREENSHOTS, collectPageErrors, openPage, startPageStack, waitInPage, type PageStack } from './page-stack.js';
import { readFile } from 'node:fs/promises';

/**
 * Issue #19 on the page: the Live tab streams Chromium's fake microphone (a WAV file played as
 * the capture device, --use-file-for-fake-audio-capture; allowed without asking,
 * --use-fake-ui-for-media-stream) and shows the pictures the server makes of it, keeps one, stops;
 * the Generate tab makes a video of a sound and plays it. Screenshots: test-results/page-live.png,
 * page-video.png.
 */
const CHROMIUM = findChromium();
const SAMPLES = resolve(import.meta.dirname, '../../models/demo/samples');

describe.skipIf(!CHROMIUM)('the page: live sound and sound to video', () => {
  let stack: PageStack;
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'a2i-live-page-'));
    // the demo world's sea with its bell, as the microphone (Chromium loops it)
    const microphone = join(tmp, 'microphone.wav');
    await writeFile(microphone, await readFile(join(SAMPLES, 'sea-bell.wav')));
    stack = await startPageStack(CHROMIUM!, {
      chromiumArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${microphone}`, '--autoplay-policy=no-user-gesture-required'],
      env: { A2I_SYNTHETIC_STEP_MS: '10' },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('Live: the microphone streams, pictures follow with their latency, one is kept, Stop ends it', async () => {
    const page = await stack.browser.context.newPage();
    const errors = collectPageErrors(page);
    await openPage(page, stack.url);
    await page.click('#tab-live');
    await page.click('#live-mic');
    await page.waitForSelector('#live-result[data-state="listening"]', { timeout: 15_000 });
    await waitInPage(page, "Number(document.querySelector('#live-result').dataset.pictures ?? 0) >= 3", 30_000);
    expect(await page.isVisible('#live-image')).toBe(true);
    const meta = (await page.textContent('#live-meta')) ?? '';
    const latency = Number(/(\d+) ms after the sound/.exec(meta)?.[1]);
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThan(10_000);
    await page.click('#live-keep');
    expect(await page.locator('#live-kept li').count()).toBe(1);
    expect(await page.getAttribute('#live-kept li a', 'download')).toMatch(/^live-\d+\.webp$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'page-live.png') });
    await page.click('#live-stop');
    await page.waitForSelector('#live-result[data-state="ended"]');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('Generate: a video of a sound, played in the page (H.264 MP4 with the sound)', async () => {
    const page = await stack.browser.context.newPage();
    const errors = collectPageErrors(page);
    await openPage(page, stack.url);
    await page.setInputFiles('#audio-file', join(SAMPLES, 'meadow-boop.wav'));
    await page.click('#video-options summary');
    await page.selectOption('#output-type', 'video');
    await page.fill('#output-fps', '4');
    await page.click('#options summary');
    await page.fill('#steps', '6');
    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="succeeded"], .job-card[data-state="failed"]', { timeout: 60_000 });
    expect(await page.getAttribute('.job-card', 'data-state')).toBe('succeeded');
    expect(await page.textContent('.job-card .status')).toMatch(/^Your video is ready: \d+ frames/);
    const src = (await page.getAttribute('.job-card .videos video', 'src'))!;
    const answer = (await page.evaluate(`fetch(${JSON.stringify(src)}).then((r) => ({ status: r.status, type: r.headers.get('content-type') }))`)) as { status: number; type: string };
    expect(answer).toEqual({ status: 200, type: 'video/mp4' });
    // Chromium plays it when it has H.264 (Debian's build does): its length is the sound's
    const playable = (await page.evaluate(`document.querySelector('.job-card .videos video').canPlayType('video/mp4; codecs="avc1.640028, mp4a.40.2"')`)) as string;
    if (playable !== '') {
      await waitInPage(page, "document.querySelector('.job-card .videos video').readyState >= 1", 15_000);
      const duration = (await page.evaluate("document.querySelector('.job-card .videos video').duration")) as number;
      expect(duration).toBeGreaterThan(1);
    } else {
      console.warn('this Chromium cannot play H.264: the video element was not played');
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'page-video.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
