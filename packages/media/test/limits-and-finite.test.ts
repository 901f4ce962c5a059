import { describe, expect, it } from 'vitest';
import { assertFinite, DEFAULT_AUDIO_LIMITS, decodeAudio, MediaError, isMediaError } from '../src/index.js';
import { resolveLimits } from '../src/limits.js';

describe('resolveLimits', () => {
  it('spreads overrides over the defaults', () => {
    expect(resolveLimits(DEFAULT_AUDIO_LIMITS, { maxChannels: 2 }, 'limits')).toEqual({ ...DEFAULT_AUDIO_LIMITS, maxChannels: 2 });
  });

  it('names the bad option in its message', () => {
    expect(() => resolveLimits(DEFAULT_AUDIO_LIMITS, { maxBytes: Number.NaN }, 'limits')).toThrow('Expected a positive number for limits.maxBytes but received NaN');
    expect(() => resolveLimits(DEFAULT_AUDIO_LIMITS, { maxSeconds: 3 } as never, 'limits')).toThrow(/Expected one of maxBytes, .* in limits but received maxSeconds/);
  });

  it('is applied by the decoders', async () => {
    await expect(decodeAudio(new Uint8Array(4), { limits: { maxDurationSec: 0 } })).rejects.toThrow(TypeError);
  });
});

describe('assertFinite', () => {
  it('passes finite floats and integer arrays', () => {
    expect(() => assertFinite(new Float32Array([0, -1.5, 3e38]), 'x')).not.toThrow();
    expect(() => assertFinite(new BigInt64Array([1n]), 'x')).not.toThrow();
  });

  it('names the first NaN or infinity (NON_FINITE_VALUE, an input fault)', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const error = (() => { try { assertFinite(new Float64Array([1, bad, bad]), '.npy embedding'); } catch (e) { return e; } })();
      expect(error).toBeInstanceOf(MediaError);
      expect(isMediaError(error, 'NON_FINITE_VALUE')).toBe(true);
      expect((error as MediaError).fault).toBe('input');
      expect((error as MediaError).message).toBe(`The .npy embedding holds ${bad} at index 1; only finite numbers are accepted`);
    }
  });
});
