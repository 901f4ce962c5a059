import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { A2iClient } from '@a2i/client';
import type { BuiltRequest } from './build-request.js';
import { endedWithout } from './job-end.js';
import { createProgressDisplay } from './progress-display.js';
import { clientFilesOf } from './request-files.js';

/** Sends the request, follows the job with a progress bar, saves the images (bytes inside the final event, else fetched). */
export async function generateRemote(client: A2iClient, built: BuiltRequest, out: string, options: { progress: boolean }): Promise<string[]> {
  const created = await client.generate(built.request, await clientFilesOf(built.files));
  const display = createProgressDisplay(options.progress);
  const end = await client
    .follow(created, {
      inlineImages: true,
      onEvent(event) {
        if (event.type === 'job:queued') display.note(`queued${event.payload.position ? ` at position ${event.payload.position}` : ''}`);
        if (event.type === 'job:progress') display.update(event.payload);
      },
      onShutdown: () => display.note('the server is restarting; following again'),
    })
    .finally(() => display.stop());
  if (end.type !== 'job:succeeded') throw endedWithout(end, 'generation');
  await mkdir(out, { recursive: true });
  const saved: string[] = [];
  for (const image of end.payload.images) {
    const bytes = image.data ?? (await client.image(created.id, created.token, image.index));
    const path = join(out, `${created.id}-${image.index}.${image.format === 'jpeg' ? 'jpg' : image.format}`);
    await writeFile(path, bytes);
    saved.push(path);
  }
  return saved;
}
