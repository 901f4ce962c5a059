import { MediaError } from './media-error.js';

/**
 * Refuses NaN and +-Infinity anywhere in a numeric array (NON_FINITE_VALUE), naming the first
 * bad index; `what` names the input in the message (".npy embedding", "IMU channel 2").
 * Integer arrays pass without a look.
 */
export function assertFinite(data: ArrayLike<number> | ArrayLike<bigint>, what: string): void {
  if (!(data instanceof Float32Array || data instanceof Float64Array || Array.isArray(data))) return;
  const values = data as ArrayLike<number>;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new MediaError('NON_FINITE_VALUE', `The ${what} holds ${String(v)} at index ${i}; only finite numbers are accepted`);
  }
}
