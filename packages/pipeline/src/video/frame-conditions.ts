import { embeddingAtTime, slerp, smoothEmbeddings } from '@a2i/imagebind';

/**
 * Each frame's condition direction (issue #19), pure functions of embeddings and times. A frame
 * is then made from its direction as one more input of the request (weighted like the sound
 * was) beside the request's fixed inputs, so the pipeline mixes it exactly as it mixes any
 * input: a unit direction is what both of its mixes read of a non-image input
 * (combineEmbeddings' unit directions; decoderCondition's direction x conditioning.norm).
 */

/** A sound's window embeddings placed at their windows' middles (GenerationPipeline.embedSound). */
export interface WindowEmbeddings {
  centresSec: readonly number[];
  vectors: readonly ArrayLike<number>[];
}

/**
 * The direction each frame of a video of a sound shows: the window embeddings smoothed over
 * time (zero-phase exponential smoothing, time constant `smoothingSec`, one step per hop:
 * smoothEmbeddings), then the direction at each frame's time (slerp between the two nearest
 * window centres, held before the first and after the last: embeddingAtTime).
 */
export function soundFrameDirections(windows: WindowEmbeddings, hopSec: number, smoothingSec: number, frameTimesSec: readonly number[]): Float32Array[] {
  if (windows.centresSec.length !== windows.vectors.length || windows.vectors.length === 0) {
    throw new RangeError(`Expected as many window centres as window embeddings (at least one) but received ${windows.centresSec.length} and ${windows.vectors.length}`);
  }
  const smoothed = smoothEmbeddings(windows.vectors, hopSec, smoothingSec);
  return frameTimesSec.map((t) => embeddingAtTime(windows.centresSec, smoothed, t));
}

/**
 * The directions of a morph: `frames` frames moving at constant angular speed along the
 * great-circle arcs from each stop to the next (slerp), the first frame at the first stop, the
 * last at the last, the stops evenly spaced in time.
 */
export function morphFrameDirections(stops: readonly ArrayLike<number>[], frames: number): Float32Array[] {
  if (stops.length < 2) throw new RangeError(`Expected at least 2 stops to move between but received ${stops.length}`);
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`Expected a positive integer for frames but received ${frames}`);
  const legs = stops.length - 1;
  return Array.from({ length: frames }, (_, i) => {
    const along = frames === 1 ? 0 : (i / (frames - 1)) * legs;
    const leg = Math.min(Math.floor(along), legs - 1);
    return slerp(stops[leg]!, stops[leg + 1]!, along - leg);
  });
}
