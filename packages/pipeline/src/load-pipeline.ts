import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pipelineLimitsOf, type GenerationPipeline, type Modality, type PipelineFactory, type PipelineLimits, type ServerConfig } from '@a2i/protocol';
import type { SharedCallPolicy } from '@a2i/unclip';
import type { OnnxRuntimeConfig } from './onnx/runtime-config.js';
import { SyntheticPipeline } from './synthetic-pipeline.js';

/**
 * Which pipeline a worker hosts: `onnx` (the real ImageBind + unCLIP pipeline on the pack at
 * `packDir`), `synthetic` (the controllable stand-in for tests), or a module that exports
 * `createPipeline: PipelineFactory`, plugged in by path.
 * Plain data, so it can be handed to the pipeline thread as workerData.
 */
export interface PipelineSpec {
  pipeline: string;
  packDir: string;
  limits: PipelineLimits;
  /** synthetic only: simulated milliseconds per step. */
  syntheticStepMs: number;
  /** onnx only: session options (the configuration's defaults when absent). */
  runtime?: OnnxRuntimeConfig;
  /** onnx only: the input modalities to serve (only their encoders are opened); absent or null: all the pack has. */
  modalities?: Modality[] | null;
  /** onnx only: continuous batching, the jobs running at once share one model call per step (A2I_MAX_BATCH_ROWS unset or > 1). */
  shareModelCalls?: boolean;
  /** onnx with shareModelCalls: a shared UNet call's row cap (A2I_SHARED_CALL_ROWS; null: none) and how many rounds of calls a job may wait (A2I_SHARED_CALL_WAIT_ROUNDS). */
  unetCallPolicy?: SharedCallPolicy;
}

/** The name of the real pipeline, what a worker runs unless told otherwise. */
export const ONNX_PIPELINE = 'onnx';

/** The pipeline the configuration names, as the worker and `a2i --local` both host it. */
export function pipelineSpecOf(config: ServerConfig): PipelineSpec {
  return {
    pipeline: config.pipeline,
    packDir: config.dirs.pack,
    limits: pipelineLimitsOf(config),
    syntheticStepMs: config.worker.syntheticStepMs,
    ...(config.pipeline === ONNX_PIPELINE ? { runtime: config.runtime, modalities: config.worker.modalities, shareModelCalls: config.worker.maxBatchRows !== 1, unetCallPolicy: config.worker.sharedCall } : {}),
  };
}

export async function loadPipeline(spec: PipelineSpec): Promise<GenerationPipeline> {
  if (spec.pipeline === 'synthetic') {
    return new SyntheticPipeline({ stepMs: spec.syntheticStepMs, limits: spec.limits });
  }
  if (spec.pipeline === ONNX_PIPELINE) {
    // Loaded on demand: a synthetic worker never loads onnxruntime.
    const { createPipeline } = await import('./onnx/index.js');
    return createPipeline({ packDir: spec.packDir, limits: spec.limits, ...(spec.runtime ? { runtime: spec.runtime } : {}), modalities: spec.modalities ?? null, shareModelCalls: spec.shareModelCalls ?? false, unetCallPolicy: spec.unetCallPolicy });
  }
  const path = isAbsolute(spec.pipeline) ? spec.pipeline : resolve(spec.pipeline);
  const module = (await import(pathToFileURL(path).href)) as { createPipeline?: PipelineFactory };
  if (typeof module.createPipeline !== 'function') {
    throw new TypeError(`Expected a module exporting createPipeline for A2I_PIPELINE but ${path} exports none`);
  }
  return module.createPipeline({ packDir: spec.packDir, limits: spec.limits });
}
