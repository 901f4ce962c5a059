import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultIntraOpThreads, loadServerConfig, priorApplies } from '@a2i/protocol';
import { previewFactor, sessionOptionsFor, upscaleNearest } from '../src/onnx/index.js';

/** The runtime section of the server configuration, read from `env` alone. */
const runtimeConfigFromEnv = (env: Record<string, string>) => loadServerConfig(env).runtime;

describe('the runtime configuration (A2I_ORT_*, read by loadServerConfig)', () => {
  it('defaults to the CPU with all cores but one for onnxruntime, the arena on and checksums verified', () => {
    expect(runtimeConfigFromEnv({})).toEqual({ executionProvider: 'cpu', deviceId: 0, intraOpThreads: Math.max(1, availableParallelism() - 1), interOpThreads: 0, memoryArena: true, verifyChecksums: true });
    expect([defaultIntraOpThreads(1), defaultIntraOpThreads(2), defaultIntraOpThreads(16)]).toEqual([1, 1, 15]);
    expect(runtimeConfigFromEnv({ A2I_ORT_THREADS: '0' }).intraOpThreads).toBe(0); // onnxruntime's own choice
    expect(sessionOptionsFor(runtimeConfigFromEnv({}))).toEqual({
      executionProviders: ['cpu'], enableCpuMemArena: true, graphOptimizationLevel: 'all', intraOpNumThreads: Math.max(1, availableParallelism() - 1),
    });
    expect(sessionOptionsFor(runtimeConfigFromEnv({ A2I_ORT_THREADS: '0' }))).toEqual({ executionProviders: ['cpu'], enableCpuMemArena: true, graphOptimizationLevel: 'all' });
  });
  it('reads the provider, device, threads and switches', () => {
    const config = runtimeConfigFromEnv({
      A2I_ORT_PROVIDER: 'cuda',
      A2I_ORT_DEVICE_ID: '1',
      A2I_ORT_THREADS: '4',
      A2I_ORT_INTER_OP_THREADS: '2',
      A2I_ORT_MEMORY_ARENA: 'false',
      A2I_PACK_VERIFY_CHECKSUMS: 'no',
    });
    expect(config).toEqual({ executionProvider: 'cuda', deviceId: 1, intraOpThreads: 4, interOpThreads: 2, memoryArena: false, verifyChecksums: false });
    expect(sessionOptionsFor(config)).toEqual({
      executionProviders: [{ name: 'cuda', deviceId: 1 }],
      enableCpuMemArena: false,
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 4,
      interOpNumThreads: 2,
    });
  });
  it('refuses bad values with a ConfigError naming the variable', () => {
    expect(() => runtimeConfigFromEnv({ A2I_ORT_PROVIDER: 'tpu' })).toThrow(new ConfigError('Expected cpu or cuda for A2I_ORT_PROVIDER but received "tpu"'));
    expect(() => runtimeConfigFromEnv({ A2I_ORT_THREADS: '-1' })).toThrow(/for A2I_ORT_THREADS but received "-1"/);
    expect(() => runtimeConfigFromEnv({ A2I_ORT_THREADS: '2.5' })).toThrow(ConfigError);
    expect(() => runtimeConfigFromEnv({ A2I_ORT_MEMORY_ARENA: 'maybe' })).toThrow('Expected true or false for A2I_ORT_MEMORY_ARENA but received "maybe"');
  });
});

describe('priorApplies', () => {
  const prior = { defaultFor: ['text', 'audio', 'depth'] };
  const input = (modality: 'audio' | 'image' | 'text' | 'depth' | 'embedding', weight = 1) => ({ modality, weight });
  it('"on" and "off" decide; without a prior it never runs', () => {
    expect(priorApplies('on', [input('image')], prior)).toBe(true);
    expect(priorApplies('off', [input('audio')], prior)).toBe(false);
    expect(priorApplies('on', [input('audio')], null)).toBe(false);
  });
  it('"auto" runs it only when every non-zero-weight input is of a defaultFor modality', () => {
    expect(priorApplies('auto', [input('audio'), input('text', 0.3)], prior)).toBe(true);
    expect(priorApplies('auto', [input('audio'), input('image')], prior)).toBe(false);
    expect(priorApplies('auto', [input('audio'), input('image', 0)], prior)).toBe(true);
    expect(priorApplies('auto', [input('embedding')], prior)).toBe(false);
    expect(priorApplies('auto', [input('image')], { defaultFor: ['vision'] })).toBe(true);
  });
});

describe('upscaleNearest', () => {
  it('repeats each pixel factor x factor times', () => {
    const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6]); // 2 x 1
    expect(Array.from(upscaleNearest(rgb, 2, 1, 2))).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
    expect(upscaleNearest(rgb, 2, 1, 1)).toBe(rgb);
    expect(() => upscaleNearest(rgb, 2, 2, 2)).toThrow(RangeError);
  });
  it('picks the largest factor that fits the image', () => {
    expect(previewFactor({ width: 16, height: 16 }, { width: 64, height: 64 })).toBe(4);
    expect(previewFactor({ width: 96, height: 64 }, { width: 768, height: 512 })).toBe(8);
    expect(previewFactor({ width: 16, height: 16 }, { width: 8, height: 8 })).toBe(1);
  });
});
