import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { createApp, type ApiApp } from '@a2i/api';
import { loadServerConfig, removeKeysWithPrefix } from '@a2i/protocol';
import { startWorker, type RunningWorker } from '@a2i/worker';
import { launchChromium, type HeadlessBrowser } from '../support/chromium.js';
import { defaultPipeline } from '../support/default-pipeline.js';
import { REDIS_URL } from '../support/redis-server.js';
export { REDIS_URL } from '../support/redis-server.js';

/**
 * The stack a browser test drives: the real api (app factory) + a real worker on a real Redis
 * (127.0.0.1:6379, or A2I_TEST_REDIS_URL) under a fresh prefix, the pipeline a worker process
 * defaults to, and Debian's Chromium headless (extra launch flags per test file).
 */
export const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results');

export interface PageStack {
  url: string;
  browser: HeadlessBrowser;
  close(): Promise<void>;
}

export async function startPageStack(chromiumPath: string, options: { chromiumArgs?: string[]; env?: Record<string, string> } = {}): Promise<PageStack> {
  const pipeline = defaultPipeline();
  const tmp = await mkdtemp(join(tmpdir(), 'a2i-web-'));
  const prefix = `a2i-web-${randomBytes(6).toString('hex')}`;
  const config = loadServerConfig({
    A2I_PIPELINE: pipeline.pipeline,
    A2I_PACK_DIR: pipeline.packDir,
    A2I_REDIS_URL: REDIS_URL,
    A2I_REDIS_PREFIX: prefix,
    A2I_UPLOADS_DIR: join(tmp, 'uploads'),
    A2I_RESULTS_DIR: join(tmp, 'results'),
    A2I_COLLECTIONS_URI: join(tmp, 'collections'),
    A2I_COLLECTIONS_MEDIA_DIR: join(tmp, 'collections-media'),
    A2I_LOG_LEVEL: 'silent',
    A2I_SYNTHETIC_STEP_MS: '60',
    A2I_HEARTBEAT_INTERVAL_MS: '500',
    ...options.env,
  });
  const logger = pino({ level: 'silent' });
  const worker: RunningWorker = await startWorker({ config, logger });
  const api: ApiApp = await createApp({ config, logger });
  const url = await api.listen(0, '127.0.0.1');
  const browser = await launchChromium(chromiumPath, options.chromiumArgs);
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    url,
    browser,
    async close() {
      await browser.close();
      await api.close();
      await worker.close();
      await removeKeysWithPrefix(REDIS_URL, prefix);
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * The page stack of a `describe` block: started before its tests (60 s for the models and
 * Chromium), closed after them. Read `stack` inside the tests.
 */
export function usePageStack(chromiumPath: string, options: Parameters<typeof startPageStack>[1] = {}): { readonly stack: PageStack } {
  let stack: PageStack | undefined;
  beforeAll(async () => {
    stack = await startPageStack(chromiumPath, options);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });
  return {
    get stack() {
      if (!stack) throw new Error('Expected the page stack to be started (usePageStack registers beforeAll)');
      return stack;
    },
  };
}

/** Collects the page's script errors and console errors (a test expects none). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

/** Opens the page and waits until the pack is known. */
export async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#pack-status[data-state="ready"]', { timeout: 15_000 });
}

/**
 * Waits until the in-page `expression` (a string: the root tsconfig has no DOM types) is true,
 * asking every 50 ms. page.evaluate, not waitForFunction: a string predicate there is eval'd
 * in the page, which its Content-Security-Policy forbids.
 */
export async function waitInPage(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
