/**
 * Flicker of a frame sequence (issue #19): the mean absolute difference between consecutive
 * frames, in 8-bit levels (0..255), averaged over every pixel, channel and pair. A steady sound
 * should give a small value; a changing one a larger value only around its changes.
 */
export function meanAbsoluteFrameDifference(frames: readonly Uint8Array[]): number {
  if (!Array.isArray(frames) || frames.length < 2) throw new RangeError(`Expected at least 2 frames but received ${Array.isArray(frames) ? frames.length : String(frames)}`);
  const size = frames[0]!.length;
  let total = 0;
  for (let f = 1; f < frames.length; f++) {
    const a = frames[f - 1]!;
    const b = frames[f]!;
    if (b.length !== size) throw new RangeError(`Expected every frame to hold ${size} values like frame 0 but frame ${f} holds ${b.length}`);
    let sum = 0;
    for (let i = 0; i < size; i++) sum += Math.abs(a[i]! - b[i]!);
    total += sum / size;
  }
  return total / (frames.length - 1);
}
