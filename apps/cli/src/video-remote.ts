import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { A2iClient } from '@a2i/client';
import type { BuiltRequest } from './build-request.js';
import { endedWithout } from './job-end.js';
import { createProgressDisplay } from './progress-display.js';
import { clientFilesOf } from './request-files.js';

/**
 * Sends a video request, follows it with a progress bar (embed: the sound's windows; frames:
 * frames made of the video's, over all the workers sharing it; encode: the MP4), saves the MP4
 * as `out` (default `<id>.mp4`) and, with `framesDir`, every frame as `<framesDir>/<n>.png`.
 * Returns the saved paths, the MP4 first.
 */
export async function videoRemote(client: A2iClient, built: BuiltRequest, options: { out?: string; framesDir?: string; progress: boolean }): Promise<string[]> {
  const created = await client.generate(built.request, await clientFilesOf(built.files));
  const display = createProgressDisplay(options.progress);
  const end = await client
    .follow(created, {
      onEvent(event) {
        if (event.type === 'job:queued') display.note(`queued${event.payload.position ? ` at position ${event.payload.position}` : ''}`);
        if (event.type === 'job:progress') display.update(event.payload);
      },
      onShutdown: () => display.note('the server is restarting; following again'),
    })
    .finally(() => display.stop());
  if (end.type !== 'job:succeeded') throw endedWithout(end, 'video');
  const out = options.out ?? `${created.id}.mp4`;
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, await client.video(created.id, created.token));
  const saved = [out];
  if (options.framesDir !== undefined) {
    await mkdir(options.framesDir, { recursive: true });
    for (const image of end.payload.images) {
      const path = join(options.framesDir, `${image.index}.png`);
      await writeFile(path, await client.image(created.id, created.token, image.index));
      saved.push(path);
    }
  }
  return saved;
}
