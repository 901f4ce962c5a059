import { randomInt } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  embeddingRequestSchema,
  FORMAT_EXTENSIONS,
  generationRequestSchema,
  loadServerConfig,
  parseOrThrow,
  requestLimitsOf,
  resolveGenerationRequest,
  resolveInputs,
  type GenerationPipeline,
  type ServerConfig,
} from '@a2i/protocol';
import { encodeImage, loadPipeline, pipelineSpecOf } from '@a2i/pipeline';
import type { BuiltRequest } from './build-request.js';
import { createProgressDisplay } from './progress-display.js';

/**
 * The pipeline named by A2I_PIPELINE (A2I_PACK_DIR's pack) loaded in this process, the
 * request's files copied to a staging folder as the server's uploads would be, both let go after.
 */
async function withLocalPipeline<T>(built: BuiltRequest, use: (pipeline: GenerationPipeline, config: ServerConfig, byPart: Map<string, string>) => Promise<T>): Promise<T> {
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
    return await use(pipeline, config, byPart);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await pipeline.close?.();
  }
}

/** `generate --local`: no server, no Redis; the same validation as the server. */
export function generateLocal(built: BuiltRequest, out: string, options: { progress: boolean }): Promise<string[]> {
  return withLocalPipeline(built, async (pipeline, config, byPart) => {
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
  });
}

/** `embed --local`: the answer POST /v1/embeddings gives ({ dim, vectors, combined }), computed in this process. */
export function embedLocal(built: BuiltRequest): Promise<{ dim: number; vectors: number[][]; combined: number[] }> {
  return withLocalPipeline(built, async (pipeline, config, byPart) => {
    const request = parseOrThrow(embeddingRequestSchema, { inputs: built.request.inputs });
    const pack = pipeline.describe();
    const output = await pipeline.embed(resolveInputs(request.inputs, pack, requestLimitsOf(config), { byPart }));
    return { dim: pack.dim, vectors: output.vectors.map((v) => Array.from(v)), combined: Array.from(output.combined) };
  });
}
