import { ImageBindError } from '../imagebind-error.js';
import { parseVideoPreprocess, type VideoPreprocess } from '../preprocess-config.js';

/** The frames one clip contributes. */
export interface VideoClipFrames {
  clip: number;
  startSec: number;
  endSec: number;
  /** Frame numbers from 0, framesPerClip of them (repeats when the clip is short). */
  frameIndices: number[];
  /** Presentation times of those frames, frameIndex / fps (seconds). */
  times: number[];
}

export interface VideoFramePlan {
  /** Frames in the video as the sampler sees it: round(durationSec * fps). */
  frameCount: number;
  clips: VideoClipFrames[];
  /** All frame indices, clip-major (clipsPerVideo * framesPerClip, repeats kept). */
  frameIndices: number[];
  /** All frame times, same order: what decodeVideoFrames({ times }) is asked for. */
  times: number[];
}

/**
 * torch.linspace(0, end, steps) in float32 (aten RangeFactoriesKernel: the first half counts
 * up from start, the second half down from end), then `.long()` (truncation), as pytorchvideo's
 * `uniform_temporal_subsample` picks frame indices.
 */
export function uniformTemporalIndices(frames: number, steps: number): number[] {
  const end = frames - 1;
  if (steps === 1) return [0];
  const step = Math.fround(end / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const v = i < halfway ? Math.fround(step * i) : Math.fround(end - Math.fround(step * (steps - i - 1)));
    out.push(Math.trunc(Math.min(Math.max(v, 0), end)));
  }
  return out;
}

/**
 * The frames ImageBind samples from a video (imagebind/data.py load_and_transform_video_data):
 *
 * - clips: pytorchvideo `ConstantClipsPerVideoSampler(clipDuration, clipsPerVideo)`:
 *   start_k = k * max(duration - clipDuration, 0) / max(clipsPerVideo - 1, 1), end = start + clipDuration;
 * - a clip's frames: the decord backend's `get_clip` (EncodedVideoDecord): indices
 *   ceil(fps * start) .. min(ceil(fps * end), frameCount) - 1, with duration = frameCount / fps;
 * - `UniformTemporalSubsample(framesPerClip)`: framesPerClip of those, evenly spaced (first and
 *   last for 2).
 *
 * `durationSec` is taken as frameCount / fps (decord's definition): frameCount = round(durationSec * fps).
 * Times are exact for clipsPerVideo - 1 a power of two (5 clips); otherwise within an ulp of
 * the sampler's rational arithmetic.
 */
export function videoFrameTimes(durationSec: number, fps: number, preprocess: VideoPreprocess): VideoFramePlan {
  const p = parseVideoPreprocess(preprocess);
  if (typeof fps !== 'number' || !Number.isFinite(fps) || fps <= 0) {
    throw new ImageBindError('VIDEO_INVALID', `Expected a positive frame rate for fps but received ${fps}`);
  }
  if (typeof durationSec !== 'number' || !Number.isFinite(durationSec) || durationSec <= 0) {
    throw new ImageBindError('VIDEO_INVALID', `Expected a positive duration for durationSec but received ${durationSec}`);
  }
  const frameCount = Math.round(durationSec * fps);
  if (frameCount < 1) {
    throw new ImageBindError('VIDEO_INVALID', `Expected a video of at least one frame but received ${durationSec} s at ${fps} fps`);
  }
  const duration = frameCount / fps;
  const maxStart = Math.max(duration - p.clipDuration, 0);
  const divisions = Math.max(p.clipsPerVideo - 1, 1);
  const clips: VideoClipFrames[] = [];
  for (let k = 0; k < p.clipsPerVideo; k++) {
    const startSec = (k * maxStart) / divisions;
    const endSec = startSec + p.clipDuration;
    const first = Math.ceil(fps * startSec);
    const last = Math.min(Math.ceil(fps * endSec), frameCount); // exclusive
    if (last <= first) {
      throw new ImageBindError('VIDEO_INVALID', `Clip ${k} (${startSec} s - ${endSec} s) holds no frame of a ${frameCount}-frame video`);
    }
    const frameIndices = uniformTemporalIndices(last - first, p.framesPerClip).map((i) => first + i);
    clips.push({ clip: k, startSec, endSec, frameIndices, times: frameIndices.map((i) => i / fps) });
  }
  return {
    frameCount,
    clips,
    frameIndices: clips.flatMap((c) => c.frameIndices),
    times: clips.flatMap((c) => c.times),
  };
}
