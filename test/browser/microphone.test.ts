import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../support/chromium.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { SCREENSHOTS, collectPageErrors, openPage, startPageStack, waitInPage, type PageStack } from './page-stack.js';

/**
 * Recording from the microphone: Chromium's fake capture device plays a WAV file as the
 * microphone (--use-file-for-fake-audio-capture) and allows it without asking
 * (--use-fake-ui-for-media-stream). Record, stop, see the waveform, trim it, generate: the
 * request carries a WAV of the kept stretch. Every request option is in the form, and every
 * file modality the pack offers has its own row.
 * Screenshot: test-results/page-microphone.png.
 */
const CHROMIUM = findChromium();
const SAMPLES = resolve(import.meta.dirname, '../../models/demo/samples');

interface Echo {
  inputs: Array<{ modality: string; file?: { part: string; bytes: number; format: string } }>;
  [option: string]: unknown;
}

/** The request the newest job ran with, as the server echoes it (GET /v1/generations/:id with the job's token). */
async function newestEcho(page: Page): Promise<Echo> {
  return (await page.evaluate(`(() => {
    const [job] = JSON.parse(localStorage.getItem('a2i.heldJobs'));
    return fetch('/v1/generations/' + job.id, { headers: { 'x-job-token': job.token } }).then((r) => r.json()).then((status) => status.request);
  })()`)) as Echo;
}

describe.skipIf(!CHROMIUM)('recording from the microphone, more modalities, every option', () => {
  let stack: PageStack;
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'a2i-mic-'));
    const wav = join(tmp, 'microphone.wav');
    await writeFile(wav, sampleSoundWav({ seconds: 4 }));
    stack = await startPageStack(CHROMIUM!, {
      chromiumArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`],
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('records, shows the waveform, trims, and sends the kept stretch as WAV', async () => {
    const page = await stack.browser.context.newPage();
    const errors = collectPageErrors(page);
    await openPage(page, stack.url);
    expect(await page.isVisible('#record-button')).toBe(true);
    await page.click('#record-button');
    await page.waitForSelector('#record-button[aria-pressed="true"]');
    await page.waitForTimeout(2_000);
    await page.click('#record-button');
    await page.waitForSelector('#sound-trim:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#audio-name')).toBe('recording.wav');
    const recorded = Number(await page.getAttribute('#trim-end', 'max'));
    expect(recorded).toBeGreaterThan(1.2);
    expect(recorded).toBeLessThan(4);
    // the waveform has ink: some pixels drawn in the accent colour
    const inked = (await page.evaluate("(() => { const c = document.querySelector('#waveform'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()")) as number;
    expect(inked).toBeGreaterThan(100);

    // keep 0.25 s .. 1.0 s (a range input takes its value through fill + input event)
    await page.fill('#trim-start', '0.25');
    await page.fill('#trim-end', '1');
    await waitInPage(page, "document.querySelector('#sound-trim').dataset.trimmed === 'true'");
    expect(await page.textContent('#trim-start-value')).toBe('0.25 s');
    await page.screenshot({ path: join(SCREENSHOTS, 'page-microphone.png') });

    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="succeeded"], .job-card[data-state="failed"]', { timeout: 45_000 });
    expect(await page.getAttribute('.job-card', 'data-state')).toBe('succeeded');
    // what the server got: a WAV of 0.75 s (16-bit mono at the browser's decoding rate, 44.1 kHz)
    const [sound] = (await newestEcho(page)).inputs;
    expect(sound!.file!.format).toBe('wav');
    const seconds = (sound!.file!.bytes - 44) / 2 / 44_100;
    expect(seconds).toBeGreaterThan(0.74);
    expect(seconds).toBeLessThan(0.76);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('every request option is in the form, and goes into the request', async () => {
    const page = await stack.browser.context.newPage();
    await openPage(page, stack.url);
    await page.setInputFiles('#audio-file', { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) });
    await page.click('#options summary');
    await page.fill('#prompt', 'an oil painting');
    await page.selectOption('#prior', 'off');
    await page.fill('#noiseLevel', '3');
    await page.selectOption('#scheduler', 'euler');
    await page.selectOption('#format', 'webp');
    await page.fill('#numImages', '2');
    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="succeeded"], .job-card[data-state="failed"]', { timeout: 45_000 });
    expect(await page.getAttribute('.job-card', 'data-state')).toBe('succeeded');
    expect(await newestEcho(page)).toMatchObject({ prompt: 'an oil painting', prior: 'off', noiseLevel: 3, scheduler: 'euler', format: 'webp', numImages: 2 });
    expect(await page.$$('.job-card img.final')).toHaveLength(2);
    await page.close();
  }, 90_000);

  it('every file modality the pack offers can be added (video, depth, thermal, IMU)', async () => {
    const page = await stack.browser.context.newPage();
    const errors = collectPageErrors(page);
    await openPage(page, stack.url);
    const pack = (await page.evaluate("fetch('/v1/pack').then((r) => r.json())")) as { modalities: string[] };
    const extras = ['video', 'depth', 'thermal', 'imu'].filter((modality) => pack.modalities.includes(modality));
    console.info(`pack modalities: ${pack.modalities.join(' ')}; extra rows expected: ${extras.join(' ') || 'none'}`);
    const rows = await page.$$eval('#extra-list [data-extra-modality]', (sections) => sections.map((section) => section.getAttribute('data-extra-modality')));
    expect(rows).toEqual(extras);
    if (extras.length === 0) return;
    await page.click('#extra-inputs summary');
    const SAMPLE: Record<string, { file: string; mimeType: string }> = {
      video: { file: 'sea-bell.mp4', mimeType: 'video/mp4' },
      depth: { file: 'sea-bell.depth.png', mimeType: 'image/png' },
      thermal: { file: 'sea-bell.thermal.png', mimeType: 'image/png' },
      imu: { file: 'sea-bell.imu.csv', mimeType: 'text/csv' },
    };
    for (const modality of extras) {
      const sample = SAMPLE[modality]!;
      await page.setInputFiles(`#${modality}-file`, { name: sample.file, mimeType: sample.mimeType, buffer: await readFile(join(SAMPLES, sample.file)) });
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'page-more-modalities.png'), fullPage: true });
    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="succeeded"], .job-card[data-state="failed"]', { timeout: 45_000 });
    expect(await page.textContent('.job-card .status')).toBe('Your image is ready');
    expect((await newestEcho(page)).inputs.map((input) => input.modality)).toEqual(extras);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
