import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import { ConfigError } from '@a2i/protocol';

/**
 * How the ONNX pipeline runs its sessions. Plain data (it crosses into the pipeline thread).
 *
 *  variable                     default  meaning
 *  A2I_ORT_PROVIDER             cpu      execution provider: cpu | cuda (cuda needs the CUDA build:
 *                                        ONNXRUNTIME_NODE_INSTALL=cuda12 at npm install)
 *  A2I_ORT_DEVICE_ID            0        GPU index for cuda
 *  A2I_ORT_THREADS              cores-1  intra-op threads per session (at least 1; 0: onnxruntime's choice,
 *                                        one per core). One core is left to the worker's own I/O (progress,
 *                                        previews, Redis) and the api: with every core given to
 *                                        onnxruntime, its spinning threads and the server's event path
 *                                        slow each other down (measured: 1.39x vs 1.03x HTTP / in-process
 *                                        on 2 cores, npm run bench).
 *  A2I_ORT_INTER_OP_THREADS     0        inter-op threads (0: onnxruntime's choice)
 *  A2I_ORT_MEMORY_ARENA         true     onnxruntime's CPU memory arena (faster; keeps peak memory reserved)
 *  A2I_PACK_VERIFY_CHECKSUMS    true     hash every pack file at start (seconds per GB)
 */
export interface OnnxRuntimeConfig {
  executionProvider: 'cpu' | 'cuda';
  deviceId: number;
  intraOpThreads: number;
  interOpThreads: number;
  memoryArena: boolean;
  verifyChecksums: boolean;
}

/** All cores but one, at least one. */
export function defaultIntraOpThreads(cores: number = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

export const DEFAULT_RUNTIME_CONFIG: Readonly<OnnxRuntimeConfig> = Object.freeze({
  executionProvider: 'cpu',
  deviceId: 0,
  intraOpThreads: defaultIntraOpThreads(),
  interOpThreads: 0,
  memoryArena: true,
  verifyChecksums: true,
});

function show(value: string): string {
  return JSON.stringify(value);
}

function integer(env: Record<string, string | undefined>, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value > max) {
    throw new ConfigError(`Expected an integer from 0 to ${max} for ${name} but received ${show(raw)}`);
  }
  return value;
}

function boolean(env: Record<string, string | undefined>, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`Expected true or false for ${name} but received ${show(raw)}`);
}

/** Reads the A2I_ORT_* / A2I_PACK_* variables above; throws ConfigError naming the variable. */
export function runtimeConfigFromEnv(env: Record<string, string | undefined> = process.env): OnnxRuntimeConfig {
  const provider = (env.A2I_ORT_PROVIDER ?? '').trim() || DEFAULT_RUNTIME_CONFIG.executionProvider;
  if (provider !== 'cpu' && provider !== 'cuda') {
    throw new ConfigError(`Expected cpu or cuda for A2I_ORT_PROVIDER but received ${show(provider)}`);
  }
  return {
    executionProvider: provider,
    deviceId: integer(env, 'A2I_ORT_DEVICE_ID', DEFAULT_RUNTIME_CONFIG.deviceId, 64),
    intraOpThreads: integer(env, 'A2I_ORT_THREADS', DEFAULT_RUNTIME_CONFIG.intraOpThreads, 1024),
    interOpThreads: integer(env, 'A2I_ORT_INTER_OP_THREADS', DEFAULT_RUNTIME_CONFIG.interOpThreads, 1024),
    memoryArena: boolean(env, 'A2I_ORT_MEMORY_ARENA', DEFAULT_RUNTIME_CONFIG.memoryArena),
    verifyChecksums: boolean(env, 'A2I_PACK_VERIFY_CHECKSUMS', DEFAULT_RUNTIME_CONFIG.verifyChecksums),
  };
}

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
