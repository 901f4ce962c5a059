// Sound for the live stream (README "Live sound"): float samples at the browser's rate made
// into 16 kHz 16-bit mono, what the server's window holds. No DOM: plain arithmetic.

export const LIVE_RATE = 16000;

/**
 * A resampler fed block after block (an AudioWorklet's 128-sample blocks, gathered): a moving
 * average over the decimation ratio (a plain anti-alias filter: enough for a picture that
 * follows the sound; the server resamples its window again), then linear interpolation at the
 * output rate, clipped to 16 bits. It keeps the tail of each block, so consecutive blocks come
 * out as one stream would: no seam, no drift.
 */
export class Pcm16Resampler {
  constructor(fromRate, toRate = LIVE_RATE) {
    this.ratio = fromRate / toRate;
    this.width = Math.max(1, Math.round(this.ratio));
    // the samples a block's first outputs need from the block before: the average's span and one to interpolate from
    this.keep = this.width + 1;
    this.tail = new Float32Array(0);
    this.position = 0;
  }

  /** The 16-bit samples `block` (Float32Array in [-1, 1]) adds. */
  push(block) {
    const input = new Float32Array(this.tail.length + block.length);
    input.set(this.tail);
    input.set(block, this.tail.length);
    const smoothed = new Float32Array(input.length);
    let sum = 0;
    for (let i = 0; i < input.length; i++) {
      sum += input[i];
      if (i >= this.width) sum -= input[i - this.width];
      smoothed[i] = sum / Math.min(i + 1, this.width);
    }
    const out = [];
    let position = this.position;
    for (; position < input.length - 1; position += this.ratio) {
      const i = Math.floor(position);
      const x = smoothed[i] + (smoothed[i + 1] - smoothed[i]) * (position - i);
      out.push(Math.max(-32768, Math.min(32767, Math.round(x * 32767))));
    }
    const kept = Math.min(this.keep, input.length);
    this.tail = input.slice(input.length - kept);
    this.position = position - (input.length - kept);
    return Int16Array.from(out);
  }
}

/** One whole buffer at `fromRate` as 16-bit samples at `toRate`. */
export function toPcm16(samples, fromRate, toRate = LIVE_RATE) {
  return new Pcm16Resampler(fromRate, toRate).push(samples);
}
