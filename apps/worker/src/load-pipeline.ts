import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GenerationPipeline, PipelineFactory, PipelineLimits } from '@a2i/protocol';
import { SyntheticPipeline } from './synthetic-pipeline.js';

/**
 * Which pipeline a worker hosts: `synthetic` (the stand-in) or a module that exports
 * `createPipeline: PipelineFactory` (the real ONNX pipeline, plugged in by path).
 * Plain data, so it can be handed to the pipeline thread as workerData.
 */
export interface PipelineSpec {
  pipeline: string;
  packDir: string;
  limits: PipelineLimits;
  /** synthetic only: simulated milliseconds per step. */
  syntheticStepMs: number;
}

export async function loadPipeline(spec: PipelineSpec): Promise<GenerationPipeline> {
  if (spec.pipeline === 'synthetic') {
    return new SyntheticPipeline({ stepMs: spec.syntheticStepMs, limits: spec.limits });
  }
  const path = isAbsolute(spec.pipeline) ? spec.pipeline : resolve(spec.pipeline);
  const module = (await import(pathToFileURL(path).href)) as { createPipeline?: PipelineFactory };
  if (typeof module.createPipeline !== 'function') {
    throw new TypeError(`Expected a module exporting createPipeline for A2I_PIPELINE but ${path} exports none`);
  }
  return module.createPipeline({ packDir: spec.packDir, limits: spec.limits });
}
