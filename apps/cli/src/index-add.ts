import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { A2iError, type A2iClient, type ClientFiles } from '@a2i/client';
import { fileFromPath } from '@a2i/client/node';
import type { IngestItemSpec, IngestResult } from '@a2i/protocol';
import { ERROR_CODES } from '@a2i/protocol/errors';
import { endedWithout } from './job-end.js';
import type { IndexFile } from './index-files.js';
import { createItemsDisplay } from './progress-display.js';

/** Ids asked about per lookup request (the server takes up to 1000). */
const LOOKUP_CHUNK = 500;

export interface IndexAddReport {
  /** Already in the collection before this run: not sent again. */
  skipped: string[];
  stored: string[];
  failed: Array<{ id: string; path: string; code: string; message: string }>;
}

/**
 * `a2i index add`: resumable. 1. ask the server which ids it holds already (lookup, 500 at a
 * time) and leave those out; 2. send the rest in batches of what one request may carry
 * (the smaller of the server's items and files per request), each an ingest job followed to
 * its end over socket.io, one progress tick per embedded item; 3. report stored, skipped and
 * failed. An interrupted run loses at most the batch in flight: the next run skips what was stored.
 * A batch the server refuses for one item (its message names `items.<i>`) is sent again
 * without that item, which is reported failed; other refusals fail the batch's items.
 */
export async function addToIndex(
  client: A2iClient,
  name: string,
  files: IndexFile[],
  options: { metadata: Record<string, string | number | boolean>; progress: boolean },
): Promise<IndexAddReport> {
  const report: IndexAddReport = { skipped: [], stored: [], failed: [] };
  const present = new Set<string>();
  // an empty lookup still answers the limits (and checks the collection exists before any upload)
  let limits = (await client.lookupItems(name, [])).limits;
  for (let start = 0; start < files.length; start += LOOKUP_CHUNK) {
    const answer = await client.lookupItems(name, files.slice(start, start + LOOKUP_CHUNK).map((f) => f.id));
    for (const id of answer.present) present.add(id);
    limits = answer.limits;
  }
  const todo = files.filter((file) => {
    if (!present.has(file.id)) return true;
    report.skipped.push(file.id);
    return false;
  });
  const batchSize = Math.max(1, Math.min(limits.itemsPerRequest, limits.filesPerRequest));
  const display = createItemsDisplay(options.progress, todo.length);
  let done = 0;
  try {
    for (let start = 0; start < todo.length; start += batchSize) {
      let batch = todo.slice(start, start + batchSize);
      while (batch.length > 0) {
        const before = done;
        try {
          const body = await ingestBody(batch, options.metadata);
          const result = await ingest(client, name, body, (step) => display.update(before + step, basename(batch[Math.min(step, batch.length) - 1]!.path)));
          report.stored.push(...result.stored);
          for (const failure of result.failed) {
            const file = batch.find((f) => f.id === failure.id) ?? batch[failure.index];
            report.failed.push({ id: failure.id, path: file?.path ?? failure.id, code: failure.code, message: failure.message });
          }
          break;
        } catch (error) {
          if (!(error instanceof A2iError) || error.fault !== 'input') throw error;
          const named = /\bitems\.(\d+)/.exec(error.message);
          const culprit = named ? batch[Number(named[1])] : undefined;
          const refused = culprit ? [culprit] : batch;
          for (const file of refused) report.failed.push({ id: file.id, path: file.path, code: error.code, message: error.message });
          batch = culprit ? batch.filter((f) => f !== culprit) : [];
        }
      }
      done = Math.min(todo.length, start + batchSize);
      display.update(done, '');
    }
  } finally {
    display.stop();
  }
  return report;
}

/**
 * One ingest job followed over socket.io to its end: `onItem` once per embedded item
 * (job:progress), the job's `{ stored, failed }` when it succeeds.
 */
async function ingest(client: A2iClient, name: string, body: { request: { items: IngestItemSpec[] }; files: ClientFiles }, onItem: (step: number) => void): Promise<IngestResult> {
  const created = await client.addItems(name, body.request, body.files);
  const end = await client.follow(created, { onEvent: (event) => event.type === 'job:progress' && onItem(event.payload.step) });
  if (end.type !== 'job:succeeded') throw endedWithout(end, `ingest job ${created.id}`);
  if (!end.payload.ingest) throw new A2iError(ERROR_CODES.INTERNAL, `Expected an ingest result for job ${created.id} but received none`);
  return end.payload.ingest;
}

/** One ingest request: `{ items }` and a part per file (text files go as text). */
async function ingestBody(batch: IndexFile[], metadata: Record<string, string | number | boolean>): Promise<{ request: { items: IngestItemSpec[] }; files: ClientFiles }> {
  const files: ClientFiles = {};
  const items: IngestItemSpec[] = [];
  for (const [i, file] of batch.entries()) {
    const common = { id: file.id, modality: file.modality, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) };
    if (file.modality === 'text') {
      items.push({ ...common, text: (await readFile(file.path, 'utf8')).trim() });
    } else {
      const part = `f${i}`;
      files[part] = await fileFromPath(file.path);
      items.push({ ...common, file: part });
    }
  }
  return { request: { items }, files };
}
