import type { GenerationPipeline, Modality, PipelineLimits } from '@a2i/protocol';
import { OnnxPipeline, type OnnxPipelineOptions } from './onnx-pipeline.js';
import { DEFAULT_RUNTIME_CONFIG, type OnnxRuntimeConfig } from './runtime-config.js';

export { OnnxPipeline, type OnnxPipelineOptions, type OnnxPackDescription } from './onnx-pipeline.js';
export { sessionOptionsFor, DEFAULT_RUNTIME_CONFIG, type OnnxRuntimeConfig } from './runtime-config.js';
export { upscaleNearest, previewFactor } from '@a2i/unclip';
export { decodeInput, encoderFor, type DecodedInput, type DecodeContext, type Preprocessors } from './input-decoding.js';
export { openPackRuntime, type PackRuntime } from './pack-runtime.js';
export { warmUpEncoders, warmUpJob, WARM_UP_STEPS, type WarmableEncoder, type WarmUpReport } from './warm-up.js';

/**
 * The PipelineFactory of the real pipeline (A2I_PIPELINE=onnx, or this module's path): opens
 * and checks the pack at `packDir` once, its sessions run as `runtime` says (the server
 * configuration's `runtime` section; the defaults when absent), only the encoders of `modalities`
 * opened (null or absent: all); `shareModelCalls`: continuous batching of the generations it runs at once,
 * `unetCallPolicy`: how a shared UNet call is filled.
 */
export function createPipeline(options: Pick<OnnxPipelineOptions, 'packDir' | 'limits' | 'runtime' | 'modalities' | 'shareModelCalls' | 'unetCallPolicy'>): Promise<GenerationPipeline> {
  return OnnxPipeline.open({
    packDir: options.packDir,
    limits: options.limits,
    runtime: options.runtime ?? DEFAULT_RUNTIME_CONFIG,
    modalities: options.modalities ?? null,
    shareModelCalls: options.shareModelCalls ?? false,
    unetCallPolicy: options.unetCallPolicy,
  });
}
