import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../support/chromium.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { SCREENSHOTS, collectPageErrors, openPage, usePageStack, waitInPage } from './page-stack.js';

/**
 * The gallery survives a reload: the page keeps its jobs' tokens in localStorage and lists
 * them with GET /v1/generations (X-Job-Tokens), each image with the request it ran with, a
 * Download link and "Use these settings again", which fills the form (not the files: the page
 * says so). Screenshot: test-results/page-gallery.png.
 */
const CHROMIUM = findChromium();

describe.skipIf(!CHROMIUM)('the gallery of past results', () => {
  const run = usePageStack(CHROMIUM!);

  it('after a reload shows the past result with its settings; download works; its settings go back into the form', async () => {
    const page = await run.stack.browser.context.newPage();
    const errors = collectPageErrors(page);
    await openPage(page, run.stack.url);
    expect(await page.isVisible('#history-card')).toBe(false);
    await page.setInputFiles('#audio-file', { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) });
    await page.click('#more-inputs summary');
    await page.fill('#generate input[name="text"]', 'a bell by the sea');
    await page.click('#options summary');
    await page.fill('#steps', '12');
    await page.fill('#guidance', '2.5');
    await page.fill('#seed', '777');
    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="succeeded"]', { timeout: 45_000 });
    const held = JSON.parse((await page.evaluate("localStorage.getItem('a2i.heldJobs')")) as string) as Array<{ id: string; token: string }>;
    expect(held).toHaveLength(1);
    expect(held[0]!.id).toBe(await page.getAttribute('.job-card', 'data-job-id'));

    await page.reload();
    await page.waitForSelector('#pack-status[data-state="ready"]', { timeout: 15_000 });
    await page.waitForSelector('#history .past-result', { timeout: 15_000 });
    expect(await page.$$('.job-card')).toHaveLength(0);
    await waitInPage(page, "(() => { const img = document.querySelector('#history .past-result img'); return img !== null && img.complete && img.naturalWidth > 0; })()");
    const entry = await page.$('#history .past-result');
    expect(await entry!.getAttribute('data-job-id')).toBe(held[0]!.id);
    const settings = await page.textContent('#history .past-settings');
    expect(settings).toContain('12 steps');
    expect(settings).toContain('guidance 2.5');
    expect(settings).toContain('seed 777');
    expect(await page.textContent('#history .past-inputs')).toMatch(/^sound \(wav\) × 1\.00 \+ text “a bell by the sea” × 0\.50$/);

    // Download: the image with the job's token, as a file
    const download = await page.$('#history .past-result a[download]');
    expect(await download!.getAttribute('download')).toBe('sound-to-image-777.png');
    const href = (await download!.getAttribute('href'))!;
    expect(href).toContain(`?token=${held[0]!.token}`);
    const fetched = (await page.evaluate(`fetch(${JSON.stringify(href)}).then((r) => [r.status, r.headers.get('content-type')])`)) as [number, string];
    expect(fetched).toEqual([200, 'image/png']);
    await page.screenshot({ path: join(SCREENSHOTS, 'page-gallery.png'), fullPage: true });

    // "Use these settings again": the form gets them back; the sound must be chosen again
    await page.click('#options summary');
    await page.click('#more-inputs summary');
    expect(await page.inputValue('#steps')).not.toBe('12');
    await page.click('#history .past-result .reuse');
    expect(await page.inputValue('#steps')).toBe('12');
    expect(await page.inputValue('#guidance')).toBe('2.5');
    expect(await page.inputValue('#seed')).toBe('777');
    expect(await page.inputValue('#generate input[name="text"]')).toBe('a bell by the sea');
    expect(await page.textContent('#reuse-note')).toContain('choose the sound again');
    expect(await page.isVisible('#reuse-note')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
