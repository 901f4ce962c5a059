/**
 * How a video's frames are split into part jobs (issue #19): runs of `framesPerPart`
 * consecutive frames, the last one shorter. Each part is a job of its own that any worker may
 * take, so a lost worker costs only its part's frames.
 */
export interface FramePart {
  part: number;
  /** First frame of the part. */
  start: number;
  /** One past its last frame. */
  end: number;
}

export function frameParts(frames: number, framesPerPart: number): FramePart[] {
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`Expected a positive integer for frames but received ${frames}`);
  if (!Number.isInteger(framesPerPart) || framesPerPart < 1) throw new RangeError(`Expected a positive integer for framesPerPart but received ${framesPerPart}`);
  return Array.from({ length: Math.ceil(frames / framesPerPart) }, (_, part) => ({ part, start: part * framesPerPart, end: Math.min(frames, (part + 1) * framesPerPart) }));
}
