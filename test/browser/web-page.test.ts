import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PackDescription } from '@a2i/protocol';
import { findChromium } from '../support/chromium.js';
import { defaultPipeline } from '../support/default-pipeline.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { SCREENSHOTS, usePageStack } from './page-stack.js';

/**
 * The page as a person uses it: the real api (app factory) + a real worker on a real Redis
 * (127.0.0.1:6379, or A2I_TEST_REDIS_URL) under a fresh prefix, Debian's Chromium headless.
 * Upload a sound through the file input, click Generate, see the progress bar move, a live
 * preview, then the final image. The worker runs the pipeline a worker process defaults to
 * (the ONNX pipeline on the demo pack; the synthetic stand-in until that pack is built).
 * Screenshots go to test-results/ (gitignored).
 */
const CHROMIUM = findChromium();
const PIPELINE = defaultPipeline();
const RECORDER = resolve(import.meta.dirname, 'page-recorder.js');
if (!CHROMIUM) {
  console.warn('web-page.test: SKIPPED: no Chromium binary (/usr/bin/chromium or CHROMIUM_PATH); `apt-get install chromium` to run it');
}


/** What page-recorder.js recorded: every value the progress bar took, every preview that loaded. */
interface PageRecord {
  progress: number[];
  previewsLoaded: Array<{ width: number; height: number }>;
}

describe.skipIf(!CHROMIUM)('web page in Chromium (upload a sound, generate, watch it)', () => {
  // every step an event: the demo pack's job takes about 200 ms, within one default 200 ms
  // throttle window, so the bar could otherwise show a single value between 0 and 1
  const run = usePageStack(CHROMIUM!, { env: { A2I_PROGRESS_INTERVAL_MS: '0' } });
  console.info(`web-page.test: pipeline ${PIPELINE.label}`);

  it('shows queue state, a moving progress bar, a preview, then the final image', async () => {
    const pack = (await (await fetch(`${run.stack.url}/v1/pack`)).json()) as PackDescription;
    const page = await run.stack.browser.context.newPage();
    await page.addInitScript({ path: RECORDER });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });

    await page.goto(run.stack.url);
    await page.waitForSelector('#pack-status[data-state="ready"]', { timeout: 15_000 });
    expect(await page.textContent('#pack-label')).toContain(pack.name);

    await page.setInputFiles('#audio-file', { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) });
    expect(await page.textContent('#audio-name')).toBe('sample-chord.wav');

    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="queued"], .job-card[data-state="running"], .job-card[data-state="succeeded"]', { timeout: 15_000 });
    // A screenshot while it runs (when it is still running: the synthetic pipeline is quick).
    await page
      .waitForSelector('.job-card .previews img.preview', { timeout: 10_000 })
      .then(() => page.screenshot({ path: join(SCREENSHOTS, 'web-page-running.png') }))
      .catch(() => undefined);

    await page.waitForSelector('.job-card[data-state="succeeded"]', { timeout: 45_000 });
    // (in-page code as strings: the root tsconfig has no DOM types)
    await page.waitForFunction("(() => { const img = document.querySelector('.job-card .images img.final'); return img !== null && img.complete && img.naturalWidth > 0; })()");
    await page.screenshot({ path: join(SCREENSHOTS, 'web-page-done.png') });

    const record = (await page.evaluate('window.__record')) as PageRecord;
    const finalImage = await page.evaluate("(() => { const img = document.querySelector('.job-card .images img.final'); return { width: img.naturalWidth, height: img.naturalHeight }; })()");
    // The page asks for the images inside job:succeeded (inlineImages): no request for them.
    expect(await page.evaluate("document.querySelector('.job-card .images img.final').src")).toMatch(/^blob:/);
    expect(pageErrors).toEqual([]);
    // The bar moved through values between 0 and 1 and ended full.
    const moving = record.progress.filter((value) => value > 0 && value < 1);
    expect(moving.length).toBeGreaterThanOrEqual(2);
    expect(new Set(moving).size).toBeGreaterThanOrEqual(2);
    expect(record.progress.at(-1)).toBe(1);
    // At least one live preview was decoded by the browser before the final image.
    expect(record.previewsLoaded.length).toBeGreaterThanOrEqual(1);
    expect(record.previewsLoaded[0]!.width).toBeGreaterThan(0);
    // The final image is the pack's size.
    expect(finalImage).toEqual(pack.imageSize);
    expect(await page.textContent('.job-card .badge')).toBe('Done');
    // the gallery (GET /v1/generations with this browser's job tokens) shows it too
    await page.waitForSelector('#history .past-result img', { timeout: 10_000 });
    expect(await page.$$('#history img')).toHaveLength(1);
    await page.close();
  });
});
