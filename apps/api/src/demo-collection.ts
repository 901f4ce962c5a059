import { existsSync, openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ServerConfig } from '@a2i/protocol';

/** The collection `npm start` makes of the demo pack's samples (README "The demo collection"). */
export const DEMO_COLLECTION = 'demo';

interface SampleEntry {
  name: string;
  scene: { place: string; object: string; colour: string; size: string };
  caption: string;
  files: Partial<Record<'audio' | 'image', string>>;
}

export interface SeedOptions {
  /** The api's base URL, e.g. http://127.0.0.1:8080. */
  api: string;
  /** The pack folder holding samples/index.json. */
  packDir: string;
  say: (message: string) => void;
  /** How long to wait for the api to be ready (a worker with its pack loaded). */
  readyTimeoutMs?: number;
  /** How long to follow the ingest job before leaving it to finish on its own. */
  ingestTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function json<T>(response: Response, what: string): Promise<T> {
  const body = (await response.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
  if (!response.ok) throw new Error(`${what}: ${response.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`.trim());
  return body;
}

/** The api's URL from its configuration: a wildcard host is reached on loopback. */
export function localApiUrl(config: ServerConfig): string | null {
  if (config.http.port === 0) return null;
  const host = ['0.0.0.0', '', '::', '[::]'].includes(config.http.host) ? '127.0.0.1' : config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  return `http://${host}:${config.http.port}`;
}

/**
 * Makes the collection `demo` of the demo pack's sample images and sounds, through the public
 * api (POST /v1/collections, then ingest jobs), unless it exists already. Runs beside the start,
 * never in its way: it waits for /readyz, only acts when the workers serve the demo pack, and
 * every failure is reported through `say` and swallowed. Returns what happened, for the log.
 *
 * Items: `<sample>.png` (image) and `<sample>.wav` (audio) per entry of samples/index.json, with
 * the scene as metadata (sample, place, object, colour, size, caption); the ids are the file
 * names, as `a2i index add models/demo/samples` would name them.
 */
export async function seedDemoCollection(options: SeedOptions): Promise<string> {
  const { api, packDir, say } = options;
  try {
    const indexPath = join(packDir, 'samples', 'index.json');
    if (!existsSync(indexPath)) return 'skipped: the pack has no samples/index.json';
    // 1. wait for a worker with its pack (the pack's name says whether the samples belong to it)
    const deadline = Date.now() + (options.readyTimeoutMs ?? 180_000);
    let pack: string | null = null;
    while (pack === null) {
      const ready = await fetch(new URL('/readyz', api)).then((r) => (r.ok ? (r.json() as Promise<{ pack: string }>) : null), () => null);
      if (ready) pack = ready.pack;
      else if (Date.now() > deadline) return `skipped: the api at ${api} was not ready within ${Math.round((options.readyTimeoutMs ?? 180_000) / 1000)} s`;
      else await sleep(500);
    }
    if (pack !== 'demo') return `skipped: the workers serve pack ${pack}, not the demo pack`;
    // 2. once: an existing collection (seeded before, or made by a person) is left as it is
    const existing = await fetch(new URL(`/v1/collections/${DEMO_COLLECTION}`, api));
    if (existing.ok) return `the collection ${DEMO_COLLECTION} exists already`;
    if (existing.status !== 404) return `skipped: GET /v1/collections/${DEMO_COLLECTION} answered ${existing.status}`;
    const created = await fetch(new URL('/v1/collections', api), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: DEMO_COLLECTION, description: "The demo pack's sample images and sounds (made by npm start)" }),
    });
    if (created.status === 409) return `the collection ${DEMO_COLLECTION} exists already`;
    await json(created, 'creating the collection');
    // 3. the items, in as many ingest jobs as the per-request limits ask
    const samples = JSON.parse(await readFile(indexPath, 'utf8')) as SampleEntry[];
    const items = samples.flatMap((sample) =>
      (['image', 'audio'] as const).flatMap((modality) => {
        const file = sample.files[modality];
        if (!file || !existsSync(join(packDir, file))) return [];
        const { place, object, colour, size } = sample.scene;
        return [{ path: join(packDir, file), id: basename(file), modality, metadata: { sample: sample.name, place, object, colour, size, caption: sample.caption } }];
      }),
    );
    const { limits } = await json<{ limits: { itemsPerRequest: number; filesPerRequest: number } }>(
      await fetch(new URL(`/v1/collections/${DEMO_COLLECTION}/items/lookup`, api), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: [] }) }),
      'reading the ingest limits',
    );
    const batch = Math.max(1, Math.min(limits.itemsPerRequest, limits.filesPerRequest));
    const jobs: Array<{ self: string; token: string }> = [];
    for (let start = 0; start < items.length; start += batch) {
      const form = new FormData();
      const chunk = items.slice(start, start + batch);
      form.set('request', JSON.stringify({ items: chunk.map((item, i) => ({ id: item.id, modality: item.modality, file: `f${i}`, metadata: item.metadata })) }));
      for (const [i, item] of chunk.entries()) form.set(`f${i}`, await openAsBlob(item.path), basename(item.path));
      const job = await json<{ token: string; links: { self: string } }>(await fetch(new URL(`/v1/collections/${DEMO_COLLECTION}/items`, api), { method: 'POST', body: form }), 'sending the samples');
      jobs.push({ self: job.links.self, token: job.token });
    }
    // 4. follow the jobs (their status route) for the log; they finish on their own either way
    const ingestDeadline = Date.now() + (options.ingestTimeoutMs ?? 120_000);
    let stored = 0;
    let failed = 0;
    for (const job of jobs) {
      for (;;) {
        const status = await json<{ status: string; result?: { stored: string[]; failed: unknown[] }; error?: { code: string; message: string } }>(
          await fetch(new URL(job.self, api), { headers: { 'x-job-token': job.token } }),
          'following the ingest job',
        );
        if (status.status === 'succeeded') {
          stored += status.result?.stored.length ?? 0;
          failed += status.result?.failed.length ?? 0;
          break;
        }
        if (status.status === 'failed' || status.status === 'canceled') throw new Error(`the ingest job ${status.status}: ${status.error?.code ?? ''} ${status.error?.message ?? ''}`);
        if (Date.now() > ingestDeadline) return `made the collection ${DEMO_COLLECTION}; its items are still being stored`;
        await sleep(200);
      }
    }
    return `made the collection ${DEMO_COLLECTION}: ${stored} sample items${failed > 0 ? `, ${failed} failed` : ''}`;
  } catch (error) {
    say(`demo collection: not made (${(error as Error).message}); the server runs without it`);
    return 'failed';
  }
}
