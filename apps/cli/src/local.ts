import { randomInt } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORMAT_EXTENSIONS, generationRequestSchema, loadServerConfig, parseOrThrow, requestLimitsOf, resolveGenerationRequest } from '@a2i/protocol';
import { encodeImage, loadPipeline, pipelineSpecOf } from '@a2i/pipeline';
import type { BuiltRequest } from './build-request.js';
import { createProgressDisplay } from './progress-display.js';

/**
 * `generate --local`: no server, no Redis. The pipeline named by A2I_PIPELINE (synthetic until
 * the models exist) runs in this process, with the same validation as the server.
 */
export async function generateLocal(built: BuiltRequest, out: string, options: { progress: boolean }): Promise<string[]> {
  const config = loadServerConfig();
  const pipeline = await loadPipeline(pipelineSpecOf(config));
  const staging = await mkdtemp(join(tmpdir(), 'a2i-cli-'));
  try {
    const byPart = new Map<string, string>();
    for (const file of built.files) {
      const staged = join(staging, file.part);
      await copyFile(file.path, staged);
      byPart.set(file.part, staged);
    }
    const request = parseOrThrow(generationRequestSchema, built.request);
    const job = resolveGenerationRequest(request, pipeline.describe(), requestLimitsOf(config), { id: 'local', createdAt: Date.now(), files: { byPart }, randomSeed: () => randomInt(0, 0xffff_ffff) });
    const display = createProgressDisplay(options.progress);
    const output = await pipeline
      .generate(job, { signal: new AbortController().signal, onProgress: (p) => display.update(p), onPreview: () => undefined })
      .finally(() => display.stop());
    await mkdir(out, { recursive: true });
    const saved: string[] = [];
    for (const [index, image] of output.images.entries()) {
      const path = join(out, `local-${job.options.seed}-${index}.${FORMAT_EXTENSIONS[job.options.format]}`);
      await writeFile(path, await encodeImage(image.rgb, image.width, image.height, job.options.format));
      saved.push(path);
    }
    return saved;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await pipeline.close?.();
  }
}
