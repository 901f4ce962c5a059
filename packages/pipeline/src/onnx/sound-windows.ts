import { ImageBindError, preprocessAudio, type AudioPreprocess, type Encoder } from '@a2i/imagebind';
import { decodeAudio } from '@a2i/media';
import type { PipelineInput, PipelineLimits, SoundEmbedding } from '@a2i/protocol';
import { soundWindows, type SoundWindowOptions } from '../video/sound-timeline.js';
import { readUpload } from './input-decoding.js';

/** Longest sound a video follows when the limits name none (A2I_VIDEO_MAX_SECONDS's default). */
const DEFAULT_MAX_VIDEO_SECONDS = 300;
/** Windows per encoder call: progress and the abort signal are looked at between calls. */
const WINDOWS_PER_RUN = 16;

/**
 * A sound's window embeddings for a video (GenerationPipeline.embedSound): decoded once, cut into
 * windows (soundWindows), each window one clip of the audio encoder: the pack's own audio
 * preprocess with `clipsPerInput` 1, since ImageBind's clips of a window as long as a clip would be
 * that same window again (ConstantClipsPerVideoSampler over a 2 s sound gives 3 copies of [0, 2)).
 */
export async function embedSoundWindows(
  encoder: Encoder,
  audioPreprocess: AudioPreprocess,
  limits: PipelineLimits,
  input: PipelineInput,
  options: SoundWindowOptions,
  signal?: AbortSignal,
  onWindow?: (done: number, total: number) => void,
): Promise<SoundEmbedding> {
  if (input.modality !== 'audio') throw new ImageBindError('UNSUPPORTED_MODALITY', `Expected an audio input to read in windows but received ${input.modality}`);
  const maxBytes = limits.maxUploadBytes;
  const bytes = await readUpload(input.file, 'audio', maxBytes);
  const pcm = await decodeAudio(bytes, { limits: { maxBytes, maxDurationSec: limits.maxVideoSeconds ?? DEFAULT_MAX_VIDEO_SECONDS }, ...(signal ? { signal } : {}) });
  const durationSec = pcm.durationSec;
  const windows = soundWindows(durationSec, options);
  const oneClip: AudioPreprocess = { ...audioPreprocess, clipsPerInput: 1 };
  const vectors: Float32Array[] = [];
  for (let start = 0; start < windows.length; start += WINDOWS_PER_RUN) {
    signal?.throwIfAborted();
    const batch = windows.slice(start, start + WINDOWS_PER_RUN).map((window) => {
      const from = Math.round(window.startSec * pcm.sampleRate);
      const to = Math.max(from + 1, Math.round(window.endSec * pcm.sampleRate));
      const channels = pcm.channels.map((channel) => channel.subarray(from, to));
      return { data: preprocessAudio({ sampleRate: pcm.sampleRate, channels }, oneClip), rows: 1 };
    });
    vectors.push(...(await encoder.run(batch)));
    onWindow?.(vectors.length, windows.length);
  }
  return { durationSec, centresSec: windows.map((window) => window.centreSec), vectors };
}
