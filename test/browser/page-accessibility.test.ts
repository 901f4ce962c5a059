import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { FileChooser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../support/chromium.js';
import { sampleSoundWav } from '../support/sample-sound.js';
import { SCREENSHOTS, collectPageErrors, openPage, usePageStack } from './page-stack.js';

/**
 * Accessibility: axe-core (WCAG rules, run in the page) finds no serious or critical violation
 * on either tab, before and after a generation; a person on a keyboard alone can reach the
 * drop zone (its focus drawn), choose a sound, Generate and get an image; screen readers hear
 * each stage once, not every step. Screenshot: test-results/page-keyboard-focus.png.
 */
const CHROMIUM = findChromium();
const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SOUND = { name: 'sample-chord.wav', mimeType: 'audio/wav', buffer: Buffer.from(sampleSoundWav()) };

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's violations on the page as it is now (axe is served same-origin: the page's CSP allows no inline script). */
async function axeViolations(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.addScriptTag({ url: '/__test/axe.min.js' });
  return (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))",
  )) as Violation[];
}

async function serveAxe(page: Page): Promise<void> {
  const body = await readFile(AXE_SOURCE, 'utf8');
  await page.route('**/__test/axe.min.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body }));
}

const serious = (violations: Violation[]) => violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');

/** Presses Tab until `id` has the focus (at most `limit` times); false when it never does. */
async function tabTo(page: Page, id: string, limit = 40): Promise<boolean> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate('document.activeElement && document.activeElement.id')) === id) return true;
  }
  return false;
}

describe.skipIf(!CHROMIUM)('accessibility of the page', () => {
  const run = usePageStack(CHROMIUM!);

  it('axe-core: no serious or critical violation on Generate (before and after a job), on Search and on Live', async () => {
    const page = await run.stack.browser.context.newPage();
    await serveAxe(page);
    await openPage(page, run.stack.url);
    await page.click('#more-inputs summary');
    await page.click('#options summary');
    await page.click('#video-options summary');
    const report: Record<string, Violation[]> = {};
    report.generate = await axeViolations(page);

    await page.setInputFiles('#audio-file', SOUND);
    await page.click('#generate-button');
    await page.waitForSelector('.job-card[data-state="succeeded"]', { timeout: 45_000 });
    report.generateDone = await axeViolations(page);

    await page.click('#tab-search');
    await page.waitForSelector('#search-collection option', { state: 'attached' });
    report.search = await axeViolations(page);
    await page.click('#tab-live');
    report.live = await axeViolations(page);
    for (const [where, violations] of Object.entries(report)) {
      console.info(`axe ${where}: ${violations.map((v) => `${v.id} (${v.impact}) ${v.nodes.join(', ')}`).join('; ') || 'none'}`);
    }
    expect(serious(report.generate!)).toEqual([]);
    expect(serious(report.generateDone!)).toEqual([]);
    expect(serious(report.search!)).toEqual([]);
    expect(serious(report.live!)).toEqual([]);
    await page.close();
  }, 60_000);

  it('by keyboard alone: Tab to the drop zone (focus drawn), Enter to choose, Tab to Generate, Enter; each stage announced once', async () => {
    const page = await run.stack.browser.context.newPage();
    const errors = collectPageErrors(page);
    // Listening from the start: Playwright turns the file-chooser interception on asynchronously
    // when a listener is added, so a listener added just before a key press can miss the chooser.
    const chooser = new Promise<FileChooser>((resolve) => page.once('filechooser', resolve));
    await page.addInitScript(`
      window.__announced = [];
      document.addEventListener('DOMContentLoaded', () => {
        const live = document.querySelector('#job-announcer');
        new MutationObserver(() => window.__announced.push(live.textContent)).observe(live, { childList: true, characterData: true, subtree: true });
      });
    `);
    await openPage(page, run.stack.url);

    expect(await tabTo(page, 'audio-file')).toBe(true);
    const outline = (await page.evaluate("(() => { const s = getComputedStyle(document.querySelector('#audio-drop')); return { style: s.outlineStyle, width: s.outlineWidth }; })()")) as { style: string; width: string };
    expect(outline.style).not.toBe('none');
    expect(parseFloat(outline.width)).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(SCREENSHOTS, 'page-keyboard-focus.png') });

    await page.keyboard.press('Enter');
    const opened = await Promise.race([chooser, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000))]);
    expect(opened, 'Enter on the focused file input opens the file chooser').not.toBeNull();
    await opened!.setFiles(SOUND);
    expect(await page.textContent('#audio-name')).toBe('sample-chord.wav');

    expect(await tabTo(page, 'generate-button')).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.job-card[data-state="succeeded"]', { timeout: 45_000 });

    // the progress bar has a name; the step-by-step status line is not a live region
    expect(await page.getAttribute('.job-card progress', 'aria-label')).toBe('Progress of result 1');
    expect(await page.evaluate("document.querySelector('.job-card .status').closest('[aria-live], [role=status], [role=alert]') === null")).toBe(true);
    const announced = (await page.evaluate('window.__announced')) as string[];
    console.info(`announced: ${JSON.stringify(announced)}`);
    expect(announced.some((text) => /step \d/i.test(text))).toBe(false);
    expect(new Set(announced).size).toBe(announced.length);
    expect(announced.at(-1)).toMatch(/ready/);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
