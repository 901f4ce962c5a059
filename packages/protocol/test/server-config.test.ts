import { describe, expect, it } from 'vitest';
import { ConfigError, loadServerConfig } from '../src/index.js';

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
});
