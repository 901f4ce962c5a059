import { describe, expect, it } from 'vitest';

// The page's resampling for live sound (apps/web/public/pcm-16k.js: plain JavaScript for the
// browser, loaded here by path so TypeScript does not need its types).
const MODULE = '../public/pcm-16k.js';
interface Resampler {
  push(block: Float32Array): Int16Array;
}
const { toPcm16, Pcm16Resampler, LIVE_RATE } = (await import(MODULE)) as {
  toPcm16: (samples: Float32Array, fromRate: number, toRate?: number) => Int16Array;
  Pcm16Resampler: new (fromRate: number, toRate?: number) => Resampler;
  LIVE_RATE: number;
};

const sine = (rate: number, seconds: number, hz: number, amplitude: number) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));

describe('the page\'s resampling to 16 kHz 16-bit (live sound)', () => {
  it('keeps a tone (its level, its length) at a third of the samples from 48 kHz', () => {
    const pcm = toPcm16(sine(48_000, 1, 440, 0.5), 48_000);
    expect(LIVE_RATE).toBe(16_000);
    expect(Math.abs(pcm.length - 16_000)).toBeLessThanOrEqual(1);
    const rms = Math.sqrt(pcm.reduce((s, x) => s + x * x, 0) / pcm.length) / 32767;
    expect(rms).toBeCloseTo(0.5 / Math.SQRT2, 2);
  });

  it('block after block, as a worklet delivers them, gives the samples of the whole sound: no seam, no drift', () => {
    const tone = sine(44_100, 0.5, 300, 0.4);
    const whole = toPcm16(tone, 44_100);
    const resampler = new Pcm16Resampler(44_100);
    const joined: number[] = [];
    for (let start = 0; start < tone.length; start += 128) joined.push(...resampler.push(tone.subarray(start, start + 128)));
    expect(joined).toEqual(Array.from(whole));
  });

  it('clips what is louder than full scale', () => {
    expect(Array.from(toPcm16(Float32Array.from([2, 2, 2, -2, -2, -2]), 16_000))).toEqual([32767, 32767, 32767, -32768, -32768]);
  });
});
