/**
 * The few numpy routines diffusers builds its timestep tables with, reproduced operation for
 * operation in float64 so that the integer timesteps come out the same (numpy 1.24:
 * numpy/core/function_base.py `linspace`, ctors.c `PyArray_ArangeObj` + `DOUBLE_fill`,
 * `np.round` = round half to even, compiled_base.c `arr_interp`).
 */

/** np.linspace(start, stop, num): y[i] = i * step + start with step = (stop - start) / (num - 1), y[-1] = stop. */
export function npLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

/**
 * np.arange(start, stop, step) for a float step: length ceil((stop - start) / step); the buffer
 * holds start and start + step, and DOUBLE_fill writes start + i * delta with
 * delta = (start + step) - start (not `step` itself: the rounding differs).
 */
export function npArange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out: number[] = [];
  if (length === 0) return out;
  out.push(start);
  if (length === 1) return out;
  const next = start + step;
  out.push(next);
  const delta = next - start;
  for (let i = 2; i < length; i++) out.push(start + i * delta);
  return out;
}

/** np.round: round half to even. */
export function npRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * np.interp(x, xp, fp) for xp = [0, 1, ..., fp.length - 1] (the only use here): the left point's
 * slope times the distance plus its value; an exact hit returns the table value.
 */
export function npInterpOnIndex(x: number, fp: ArrayLike<number>): number {
  const last = fp.length - 1;
  if (x <= 0) return fp[0]!;
  if (x >= last) return fp[last]!;
  const j = Math.floor(x);
  if (j === x) return fp[j]!;
  const slope = (fp[j + 1]! - fp[j]!) / (j + 1 - j);
  return slope * (x - j) + fp[j]!;
}
