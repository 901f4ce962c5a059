import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedDemoCollection } from '../../apps/api/src/demo-collection.js';
import { findChromium } from '../support/chromium.js';
import { SCREENSHOTS, usePageStack, waitInPage } from './page-stack.js';

/**
 * The Search view as a person uses it: the real api + a real worker running the demo pack (ONNX)
 * on a real Redis, the `demo` collection made as `npm start` makes it, Debian's Chromium.
 * Switch to Search, drop a sample sound, see the nearest images with its own image first, click
 * it to mix it into Generate, generate, see an image. Screenshots go to test-results/ (gitignored).
 */
const CHROMIUM = findChromium();
const DEMO = resolve(import.meta.dirname, '../../models/demo');
if (!CHROMIUM) console.warn('search-view.test: SKIPPED: no Chromium binary (/usr/bin/chromium or CHROMIUM_PATH)');

describe.skipIf(!CHROMIUM)('the Search view in Chromium (drop a sound, see its neighbours, generate from one)', () => {
  const run = usePageStack(CHROMIUM!, { env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_PACK_VERIFY_CHECKSUMS: 'false' } });
  beforeAll(async () => {
    expect(await seedDemoCollection({ api: run.stack.url, packDir: DEMO, say: (m) => console.warn(m) })).toMatch(/^made the collection demo: 11 sample items$/);
  }, 60_000);

  it('finds the sound’s own image first, and generates from it', async () => {
    const page = await run.stack.browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    const generationBodies: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/generations') generationBodies.push(request.postData() ?? '');
    });

    await page.goto(run.stack.url);
    await page.waitForSelector('#pack-status[data-state="ready"]', { timeout: 15_000 });
    expect(await page.getAttribute('#tab-generate', 'aria-selected')).toBe('true');
    expect(await page.isVisible('#search-view')).toBe(false);

    await page.click('#tab-search');
    expect(await page.getAttribute('#tab-search', 'aria-selected')).toBe('true');
    expect(await page.getAttribute('#tab-generate', 'aria-selected')).toBe('false');
    expect(await page.isVisible('#generate-view')).toBe(false);
    await page.waitForSelector('#search-collection option[value="demo"]', { state: 'attached' });
    expect(await page.inputValue('#search-collection')).toBe('demo');
    await page.selectOption('select[name="modality"]', 'image');

    // dropping (choosing) a sound with a collection chosen searches at once
    const sound = await readFile(join(DEMO, 'samples', 'sea-bell.wav'));
    await page.setInputFiles('#search-file', { name: 'sea-bell.wav', mimeType: 'audio/wav', buffer: sound });
    await page.waitForSelector('#search-results[data-state="done"]', { timeout: 20_000 });
    const hits = await page.$$eval('#hits .hit', (buttons) => buttons.map((b) => ({ id: b.getAttribute('data-id'), modality: b.getAttribute('data-modality') })));
    expect(hits.length).toBe(5);
    expect(hits[0]).toEqual({ id: 'sea-bell.png', modality: 'image' });
    // every hit's thumbnail is the item's media, decoded by the browser
    // (functions, not strings: a string predicate is eval'd in the page, which its CSP forbids)
    await page.waitForFunction(() => [...(globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<{ complete: boolean; naturalWidth: number }> } }).document.querySelectorAll('#hits .hit img')].every((img) => img.complete && img.naturalWidth > 0));
    expect(await page.getAttribute('#hits .hit img', 'src')).toBe('/v1/collections/demo/items/sea-bell.png/media');
    expect(await page.textContent('#hits .hit .hit-score')).toMatch(/^#1 · 0\.\d{3}$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'search-view-results.png') });

    // click the best hit: it becomes a Generate input, and the Generate tab comes back
    await page.click('#hits .hit[data-id="sea-bell.png"]');
    expect(await page.getAttribute('#tab-generate', 'aria-selected')).toBe('true');
    await page.waitForSelector('#item-inputs li[data-id="sea-bell.png"]', { state: 'visible' });
    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="succeeded"]', { timeout: 45_000 });
    await page.waitForFunction(() => {
      const img = (globalThis as unknown as { document: { querySelector(s: string): { complete: boolean; naturalWidth: number } | null } }).document.querySelector('.job-card .images img.final');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    await page.screenshot({ path: join(SCREENSHOTS, 'search-view-generated.png') });

    // the generation carried the item: as an `item` input when the server takes them, else as its vector
    const sent = generationBodies.map((body) => /"modality":"(item|embedding)"/.exec(body)?.[1]);
    console.info(`search-view.test: generation inputs sent as ${sent.join(' then ')}`);
    expect(sent.at(-1)).toMatch(/^(item|embedding)$/);
    // a server without `item` inputs refuses the first try (the browser logs that 400): nothing else may fail
    expect(pageErrors.filter((e) => !(sent[0] === 'item' && sent.at(-1) === 'embedding' && /status of 400/.test(e)))).toEqual([]);
    await page.close();
  });

  it('a server that refuses `item` inputs gets the item’s stored vector instead', async () => {
    const page = await run.stack.browser.context.newPage();
    const sent: string[] = [];
    // an older server: `item` is not a modality it knows (the refusal it would answer)
    await page.route('**/v1/generations', async (route) => {
      // GET is the gallery's history: only the POSTs are generations
      if (route.request().method() !== 'POST') return route.continue();
      const body = route.request().postData() ?? '';
      sent.push(/"modality":"(item|embedding)"/.exec(body)?.[1] ?? '');
      if (body.includes('"modality":"item"')) {
        await route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'INVALID_REQUEST', message: 'Expected one of audio|image|text|video|depth|thermal|imu|embedding for inputs.0.modality but received "item"' } }) });
      } else await route.continue();
    });
    await page.goto(run.stack.url);
    await page.waitForSelector('#pack-status[data-state="ready"]', { timeout: 15_000 });
    await page.click('#tab-search');
    await page.waitForSelector('#search-collection option[value="demo"]', { state: 'attached' });
    await page.fill('#search input[name="text"]', 'a small magenta square in the desert');
    await page.selectOption('select[name="modality"]', 'image');
    await page.click('#search-button');
    await page.waitForSelector('#search-results[data-state="done"]', { timeout: 20_000 });
    expect(await page.getAttribute('#hits .hit', 'data-id')).toBe('desert-buzz.png');
    await page.click('#hits .hit');
    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="succeeded"]', { timeout: 45_000 });
    expect(sent).toEqual(['item', 'embedding']);
    // the next generation goes straight to vectors
    await page.click('#generate-button');
    await waitInPage(page, `document.querySelectorAll('#job-list .job-card[data-state="succeeded"]').length === 2`, 45_000);
    expect(sent).toEqual(['item', 'embedding', 'embedding']);
    await page.close();
  });
});
