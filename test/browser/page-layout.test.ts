import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../support/chromium.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { SCREENSHOTS, collectPageErrors, openPage, usePageStack, waitInPage } from './page-stack.js';

/**
 * The page on a phone (390x844, an iPhone 12-14's CSS viewport) and on a desktop (1280x800):
 * with a sound and an image (with a long camera file name) chosen nothing overflows
 * sideways, the image's Remove button takes a plain click, and after Generate the result card
 * is on screen. Screenshots: test-results/page-phone.png, page-desktop.png.
 */
const CHROMIUM = findChromium();
const PHOTO = resolve(import.meta.dirname, '../../models/demo/samples/desert-buzz.png');
const LONG_NAME = 'IMG_20261206_101010_a_rather_long_name_straight_from_a_phone_camera.png';

describe.skipIf(!CHROMIUM)('the page on a phone and on a desktop', () => {
  const run = usePageStack(CHROMIUM!);

  const VIEWPORTS = [
    { name: 'phone', width: 390, height: 844 },
    { name: 'desktop', width: 1280, height: 800 },
  ];
  for (const viewport of VIEWPORTS) {
    it(`${viewport.name} ${viewport.width}x${viewport.height}: no sideways overflow, Remove clickable, result scrolled into view`, async () => {
      const page = await run.stack.browser.context.newPage();
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      const errors = collectPageErrors(page);
      await openPage(page, run.stack.url);
      const photo = { name: LONG_NAME, mimeType: 'image/png', buffer: await readFile(PHOTO) };
      const overflow = async () => (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];

      await page.setInputFiles('#audio-file', { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) });
      await page.click('#more-inputs summary');
      await page.setInputFiles('#image-file', photo);
      await page.waitForSelector('#image-clear', { state: 'visible' });
      const [scrollWidth, innerWidth] = await overflow();
      expect(scrollWidth).toBeLessThanOrEqual(innerWidth);

      // a plain click (no force): Playwright refuses when the button is off screen or covered
      await page.click('#image-clear', { timeout: 5_000 });
      expect(await page.textContent('#image-name')).toBe('No image');
      await page.setInputFiles('#image-file', photo);
      expect((await overflow())[0]).toBeLessThanOrEqual(innerWidth);

      await page.evaluate('window.scrollTo(0, 0)');
      await page.click('#generate-button');
      await page.waitForSelector('.job-card[data-state="succeeded"]', { timeout: 45_000 });
      await waitInPage(page, "(() => { const img = document.querySelector('.job-card img.final'); return img !== null && img.complete && img.naturalWidth > 0; })()");
      const card = (await page.evaluate("(() => { const r = document.querySelector('.job-card').getBoundingClientRect(); return { top: r.top, bottom: r.bottom }; })()")) as { top: number; bottom: number };
      // the card's top edge is on screen (below the top, above the bottom; a sub-pixel of rounding allowed)
      expect(card.top).toBeGreaterThanOrEqual(-1);
      expect(card.top).toBeLessThan(viewport.height);
      expect((await overflow())[0]).toBeLessThanOrEqual(innerWidth);
      await page.screenshot({ path: join(SCREENSHOTS, `page-${viewport.name}.png`) });
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  }
});
