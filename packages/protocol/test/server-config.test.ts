import { describe, expect, it } from 'vitest';
import { ConfigError, defaultBatchRows, loadServerConfig, pipelineInstances } from '../src/index.js';

describe('server configuration', () => {
  it('has safe defaults', () => {
    const config = loadServerConfig({}, '/srv');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.dirs.uploads).toBe('/srv/var/uploads');
    expect(config.apiKeys).toEqual([]);
    expect(config.limits.queueDepth).toBe(100);
    expect(config.pipeline).toBe('onnx');
  });

  it('reads A2I_* variables and refuses bad ones by name', () => {
    const config = loadServerConfig({ A2I_PORT: '9000', A2I_API_KEYS: 'a, b,,', A2I_MAX_STEPS: '50' }, '/srv');
    expect([config.http.port, config.apiKeys, config.limits.steps]).toEqual([9000, ['a', 'b'], 50]);
    expect(() => loadServerConfig({ A2I_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadServerConfig({ A2I_PORT: 'eighty' })).toThrow(/for A2I_PORT but received "eighty"/);
    expect(() => loadServerConfig({ A2I_LOCK_DURATION_MS: '1000', A2I_STALLED_INTERVAL_MS: '5000' })).toThrow(/A2I_STALLED_INTERVAL_MS/);
  });

  it('reads the per-client limits: rates as <count>/<seconds> or off, trust proxy, CORS origins', () => {
    const defaults = loadServerConfig({}, '/srv').clients;
    expect(defaults.rates.generations).toEqual({ points: 30, seconds: 60 });
    expect([defaults.trustProxy, defaults.corsOrigins, defaults.priorityKeys, defaults.headersTimeoutMs]).toEqual([false, [], [], 10_000]);
    const set = loadServerConfig(
      { A2I_RATE_GENERATIONS: '5/10', A2I_RATE_CONNECTIONS: 'off', A2I_TRUST_PROXY: 'loopback, 10.0.0.0/8', A2I_CORS_ORIGINS: 'https://a.example,http://b.example:8080' },
      '/srv',
    ).clients;
    expect([set.rates.generations, set.rates.connections]).toEqual([{ points: 5, seconds: 10 }, null]);
    expect(set.trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    expect(set.corsOrigins).toEqual(['https://a.example', 'http://b.example:8080']);
    expect(loadServerConfig({ A2I_TRUST_PROXY: '2' }).clients.trustProxy).toBe(2);
    expect(loadServerConfig({ A2I_TRUST_PROXY: 'true' }).clients.trustProxy).toBe(true);
    expect(() => loadServerConfig({ A2I_RATE_GENERATIONS: '5 per minute' })).toThrow(/for A2I_RATE_GENERATIONS but received "5 per minute"/);
    expect(() => loadServerConfig({ A2I_CORS_ORIGINS: 'a.example/path' })).toThrow(/A2I_CORS_ORIGINS/);
    expect(() => loadServerConfig({ A2I_HEADERS_TIMEOUT_MS: '20000', A2I_REQUEST_TIMEOUT_MS: '15000' })).toThrow(/A2I_REQUEST_TIMEOUT_MS/);
  });

  it('sizes continuous batching by the pack unless A2I_MAX_BATCH_ROWS says: a pixel budget of 8 images at 768x768, 1..32', () => {
    expect(loadServerConfig({}).worker.maxBatchRows).toBeNull();
    expect(loadServerConfig({ A2I_PIPELINE: 'synthetic' }).worker.maxBatchRows).toBe(1);
    expect(loadServerConfig({ A2I_MAX_BATCH_ROWS: '4' }).worker.maxBatchRows).toBe(4);
    expect(() => loadServerConfig({ A2I_MAX_BATCH_ROWS: '0' })).toThrow(ConfigError);
    expect(defaultBatchRows({ width: 768, height: 768 })).toBe(8); // Stable unCLIP-H
    expect(defaultBatchRows({ width: 64, height: 64 })).toBe(32); // the demo pack: the budget's 1152, capped
    expect(defaultBatchRows({ width: 1024, height: 1024 })).toBe(4);
    expect(defaultBatchRows({ width: 4096, height: 4096 })).toBe(1);
  });

  it('caps a shared UNet call at 12 model rows on the CPU and not on a GPU unless A2I_SHARED_CALL_ROWS says (0: no cap)', () => {
    expect(loadServerConfig({}).worker.sharedCall).toEqual({ maxRows: 12, maxWaitRounds: 2 });
    expect(loadServerConfig({ A2I_ORT_PROVIDER: 'cuda' }).worker.sharedCall.maxRows).toBeNull();
    expect(loadServerConfig({ A2I_ORT_PROVIDER: 'cuda', A2I_SHARED_CALL_ROWS: '24' }).worker.sharedCall.maxRows).toBe(24);
    expect(loadServerConfig({ A2I_SHARED_CALL_ROWS: '0', A2I_SHARED_CALL_WAIT_ROUNDS: '5' }).worker.sharedCall).toEqual({ maxRows: null, maxWaitRounds: 5 });
    expect(() => loadServerConfig({ A2I_SHARED_CALL_WAIT_ROUNDS: '0' })).toThrow(ConfigError);
    expect(() => loadServerConfig({ A2I_SHARED_CALL_ROWS: '-1' })).toThrow(ConfigError);
  });

  it('runs two pipeline instances on a batching CPU worker whose sessions have one thread each, on 2 cores or more, else one unless A2I_PIPELINE_INSTANCES says', () => {
    const cpu = { provider: 'cpu', intraOpThreads: 1, batching: true };
    expect(pipelineInstances(undefined, cpu, 2)).toBe(2);
    expect(pipelineInstances(undefined, cpu, 8)).toBe(2);
    expect(pipelineInstances(undefined, cpu, 1)).toBe(1);
    expect(pipelineInstances(undefined, { ...cpu, intraOpThreads: 3 }, 4)).toBe(1);
    expect(pipelineInstances(undefined, { ...cpu, intraOpThreads: 0 }, 2)).toBe(1);
    expect(pipelineInstances(undefined, { ...cpu, batching: false }, 2)).toBe(1);
    expect(pipelineInstances(undefined, { ...cpu, provider: 'cuda' }, 2)).toBe(1);
    expect(pipelineInstances(3, { ...cpu, provider: 'cuda' }, 2)).toBe(3);
    // through the environment: batching off (A2I_MAX_BATCH_ROWS 1, or a pipeline that does not batch) is one instance
    expect(loadServerConfig({ A2I_ORT_THREADS: '1', A2I_MAX_BATCH_ROWS: '1' }).worker.pipelineInstances).toBe(1);
    expect(loadServerConfig({ A2I_ORT_THREADS: '1', A2I_PIPELINE: 'synthetic' }).worker.pipelineInstances).toBe(1);
    expect(loadServerConfig({ A2I_ORT_THREADS: '4' }).worker.pipelineInstances).toBe(1);
    expect(loadServerConfig({ A2I_PIPELINE_INSTANCES: '3', A2I_MAX_BATCH_ROWS: '1' }).worker.pipelineInstances).toBe(3);
    expect(() => loadServerConfig({ A2I_PIPELINE_INSTANCES: '0' })).toThrow(ConfigError);
  });
});
