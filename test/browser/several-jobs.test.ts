import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../support/chromium.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { SCREENSHOTS, collectPageErrors, openPage, usePageStack, waitInPage } from './page-stack.js';

/**
 * Several jobs at once: Generate while a job runs adds another card (newest first) and the
 * first keeps going; each card has its own Cancel; every job ends in its own card (none is
 * left queued or running). The synthetic pipeline, slowed down, so that jobs overlap.
 * Screenshot: test-results/page-several-jobs.png.
 */
const CHROMIUM = findChromium();
const FINAL = ['succeeded', 'failed', 'canceled'];

describe.skipIf(!CHROMIUM)('several jobs at once', () => {
  const run = usePageStack(CHROMIUM!, { env: { A2I_PIPELINE: 'synthetic', A2I_SYNTHETIC_STEP_MS: '100' } });

  it('Generate while a job runs queues another and shows both; each cancels on its own; none is orphaned', async () => {
    const page = await run.stack.browser.context.newPage();
    const errors = collectPageErrors(page);
    await openPage(page, run.stack.url);
    await page.setInputFiles('#audio-file', { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) });
    await page.click('#options summary');
    await page.fill('#steps', '20');

    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-job-id][data-state="running"]', { timeout: 15_000 });
    expect(await page.isEnabled('#generate-button')).toBe(true);
    await page.click('#generate-button');
    await page.waitForSelector('.job-card:nth-child(2)', { timeout: 5_000 });
    await page.click('#generate-button');
    await waitInPage(page, "document.querySelectorAll('.job-card[data-job-id]').length === 3");

    const cards = async () =>
      (await page.evaluate(
        "[...document.querySelectorAll('#job-list .job-card')].map((card) => ({ title: card.querySelector('.job-title').textContent, id: card.dataset.jobId, state: card.dataset.state, cancel: !card.querySelector('.cancel').hidden }))",
      )) as Array<{ title: string; id: string; state: string; cancel: boolean }>;
    const inFlight = await cards();
    // newest first, three different jobs, the first still going while the others wait
    expect(inFlight.map((card) => card.title)).toEqual(['Result 3', 'Result 2', 'Result 1']);
    expect(new Set(inFlight.map((card) => card.id)).size).toBe(3);
    expect(inFlight[2]!.state).toMatch(/^(running|succeeded)$/);
    expect(inFlight[0]!.state).toMatch(/^(queued|running)$/);
    expect(inFlight[0]!.cancel).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'page-several-jobs.png'), fullPage: true });

    // cancel the newest with its own button: the others go on
    await page.click('#job-list .job-card:first-child .cancel');
    await waitInPage(page, `[...document.querySelectorAll('#job-list .job-card')].every((card) => ${JSON.stringify(FINAL)}.includes(card.dataset.state))`, 45_000);
    const ended = await cards();
    expect(ended.map((card) => card.state)).toEqual(['canceled', 'succeeded', 'succeeded']);
    expect(await page.$$eval('#job-list .job-card', (list) => list.map((card) => card.querySelectorAll('img.final').length))).toEqual([0, 1, 1]);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
