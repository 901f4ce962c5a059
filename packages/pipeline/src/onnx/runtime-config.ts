import type { InferenceSession } from 'onnxruntime-node';
import { defaultIntraOpThreads, type RuntimeConfig } from '@a2i/protocol';

/**
 * How the ONNX pipeline runs its sessions: the `runtime` section of the server configuration
 * (A2I_ORT_* and A2I_PACK_VERIFY_CHECKSUMS, read once by loadServerConfig). Plain data: it
 * crosses into the pipeline thread.
 */
export type OnnxRuntimeConfig = RuntimeConfig;

/** The configuration's defaults, for callers that open a pack without a server config. */
export const DEFAULT_RUNTIME_CONFIG: Readonly<OnnxRuntimeConfig> = Object.freeze({
  executionProvider: 'cpu',
  deviceId: 0,
  intraOpThreads: defaultIntraOpThreads(),
  interOpThreads: 0,
  memoryArena: true,
  verifyChecksums: true,
});

/** onnxruntime-node session options for every session of the pack. */
export function sessionOptionsFor(config: OnnxRuntimeConfig): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {
    executionProviders: config.executionProvider === 'cuda' ? [{ name: 'cuda', deviceId: config.deviceId }] : ['cpu'],
    enableCpuMemArena: config.memoryArena,
    graphOptimizationLevel: 'all',
  };
  if (config.intraOpThreads > 0) options.intraOpNumThreads = config.intraOpThreads;
  if (config.interOpThreads > 0) options.interOpNumThreads = config.interOpThreads;
  return options;
}
