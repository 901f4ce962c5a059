import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../support/chromium.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { SCREENSHOTS, collectPageErrors, openPage, usePageStack } from './page-stack.js';

/**
 * Errors next to the field that caused them: a number outside its bounds is caught before
 * sending (aria-invalid + aria-describedby on the field); a refusal from the server that
 * names a field (here the server's own A2I_MAX_STEPS, below the pack's limit the page knows)
 * goes next to that field too; a file this browser cannot decode as sound is flagged under the
 * drop zone and can still be sent. Screenshot: test-results/page-field-errors.png.
 */
const CHROMIUM = findChromium();
const SERVER_MAX_STEPS = 50;

async function postsTo(page: Page): Promise<string[]> {
  const posts: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/generations') posts.push(request.postData() ?? '');
  });
  return posts;
}

const describedText = (page: Page, selector: string) =>
  page.evaluate(`(() => { const input = document.querySelector(${JSON.stringify(selector)}); return (input.getAttribute('aria-describedby') || '').split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' ').trim(); })()`) as Promise<string>;

describe.skipIf(!CHROMIUM)('errors next to their fields', () => {
  const run = usePageStack(CHROMIUM!, { env: { A2I_MAX_STEPS: String(SERVER_MAX_STEPS) } });

  it('steps = 0 is marked on the field before anything is sent, and the mark goes when it is edited', async () => {
    const page = await run.stack.browser.context.newPage();
    const errors = collectPageErrors(page);
    const posts = await postsTo(page);
    await openPage(page, run.stack.url);
    const pack = (await page.evaluate("fetch('/v1/pack').then((r) => r.json())")) as { limits: { maxSteps: number } };
    await page.setInputFiles('#audio-file', { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) });
    await page.click('#options summary');
    await page.fill('#steps', '0');
    await page.fill('#guidance', '-1');
    await page.click('#generate-button');
    expect(await page.getAttribute('#steps', 'aria-invalid')).toBe('true');
    expect(await describedText(page, '#steps')).toBe(`Steps must be from 1 to ${pack.limits.maxSteps} (this model pack’s limit)`);
    expect(await page.getAttribute('#guidance', 'aria-invalid')).toBe('true');
    expect(await describedText(page, '#guidance')).toBe('Guidance must be from 0 to 100');
    expect(await page.isVisible('#steps-error')).toBe(true);
    // the first marked field has the focus; nothing went to the server; the result card says nothing
    expect(await page.evaluate('document.activeElement.id')).toBe('steps');
    expect(posts).toEqual([]);
    expect(await page.$$('.job-card')).toHaveLength(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'page-field-errors.png') });

    await page.fill('#steps', '20');
    expect(await page.getAttribute('#steps', 'aria-invalid')).toBeNull();
    expect(await page.isVisible('#steps-error')).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a server refusal naming a field goes next to that field, not into the result card', async () => {
    const page = await run.stack.browser.context.newPage();
    const posts = await postsTo(page);
    await openPage(page, run.stack.url);
    await page.setInputFiles('#audio-file', { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) });
    await page.click('#options summary');
    await page.fill('#steps', String(SERVER_MAX_STEPS * 2));
    await page.click('#generate-button');
    await page.waitForSelector('#steps[aria-invalid="true"]', { timeout: 15_000 });
    expect(posts).toHaveLength(1);
    expect(await describedText(page, '#steps')).toBe(`At most ${SERVER_MAX_STEPS} here (received ${SERVER_MAX_STEPS * 2})`);
    // no result card for a request the server did not take
    expect(await page.$$('.job-card')).toHaveLength(0);
    expect(await page.isVisible('#job-idle')).toBe(true);
    await page.close();
  });

  it('a sound this browser cannot decode is flagged under the drop zone, and can still be sent', async () => {
    const page = await run.stack.browser.context.newPage();
    const posts = await postsTo(page);
    await openPage(page, run.stack.url);
    await page.setInputFiles('#audio-file', { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) });
    await page.waitForSelector('#audio-drop[data-audio-check="playable"]', { timeout: 10_000 });
    expect(await page.isVisible('#audio-warning')).toBe(false);

    const noise = Buffer.alloc(4096, 0x5a);
    await page.setInputFiles('#audio-file', { name: 'field-recording.amr', mimeType: 'audio/amr', buffer: noise });
    await page.waitForSelector('#audio-drop[data-audio-check="unplayable"]', { timeout: 10_000 });
    expect(await page.isVisible('#audio-warning')).toBe(true);
    expect(await page.textContent('#audio-warning')).toMatch(/cannot play.*still send it/);
    expect(await page.isEnabled('#generate-button')).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'page-audio-warning.png') });
    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="failed"], .job-card[data-state="succeeded"], .job-card[data-state="queued"], .job-card[data-state="running"]', { timeout: 15_000 });
    expect(posts).toHaveLength(1);
    await page.close();
  });
});
