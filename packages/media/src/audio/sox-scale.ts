/**
 * Sample scaling of torchaudio.load in torchaudio 0.13.1 (ImageBind's pinned version), whose
 * default sox_io backend reads every sample into libsox's int32 `sox_sample_t` (the value
 * left-justified: int16 << 16, int24 << 8, uint8 - 128 << 24) and converts it to float with
 * sox.h's SOX_SAMPLE_TO_FLOAT_32BIT:
 *     d > SOX_SAMPLE_MAX - 64 ? 1 : ((d + 64) & ~127) * (1 / (SOX_SAMPLE_MAX + 1))
 * For 8, 16 and 24-bit integers that is exactly value / 2^(bits-1); 32-bit integers are rounded
 * to 25 significant bits. Float WAV samples first go through SOX_FLOAT_32BIT_TO_SAMPLE (x * 2^31,
 * truncated, clipped) or SOX_FLOAT_64BIT_TO_SAMPLE (rounded half away from zero, clipped), so
 * torchaudio clips float audio to [-1, 1]. Checked against torchaudio 0.13.1 on random
 * uint8/int16/int32/float32/float64 WAVs: identical float32 values.
 */
const SOX_SAMPLE_MAX = 2147483647;
const SOX_SAMPLE_MIN = -2147483648;
const TWO_31 = 2147483648;

/** sox_sample_t (int32) -> float, SOX_SAMPLE_TO_FLOAT_32BIT. */
export function soxSampleToFloat(sample: number): number {
  return sample > SOX_SAMPLE_MAX - 64 ? 1 : ((sample + 64) & ~127) / TWO_31;
}

/** float32 -> sox_sample_t, SOX_FLOAT_32BIT_TO_SAMPLE: truncated toward zero, clipped. */
export function soxFloat32ToSample(x: number): number {
  const d = x * TWO_31;
  if (d < SOX_SAMPLE_MIN) return SOX_SAMPLE_MIN;
  if (d >= SOX_SAMPLE_MAX + 1) return SOX_SAMPLE_MAX;
  return Math.trunc(d);
}

/** float64 -> sox_sample_t, SOX_FLOAT_64BIT_TO_SAMPLE: rounded half away from zero, clipped. */
export function soxFloat64ToSample(x: number): number {
  const d = x * TWO_31;
  if (d < 0) return d <= SOX_SAMPLE_MIN - 0.5 ? SOX_SAMPLE_MIN : Math.trunc(d - 0.5);
  return d >= SOX_SAMPLE_MAX + 0.5 ? SOX_SAMPLE_MAX : Math.trunc(d + 0.5);
}

/** A signed integer sample of `bits` (8 < bits <= 32) as torchaudio gives it. */
export function signedIntToFloat(value: number, bits: number): number {
  // Up to 25 bits the left-justified value is already a multiple of 128: exact division.
  return bits <= 25 ? value / 2 ** (bits - 1) : soxSampleToFloat(value * 2 ** (32 - bits));
}
