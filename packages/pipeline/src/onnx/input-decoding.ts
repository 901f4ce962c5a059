import { open } from 'node:fs/promises';
import {
  ImageBindError,
  imageAsClip,
  imageToTensor,
  imuToTensor,
  preprocessAudio,
  videoFrameTimes,
  videoViews,
  type AudioPreprocess,
  type ClipTokenizer,
  type ImagePreprocess,
  type ImuPreprocess,
  type VideoPreprocess,
} from '@a2i/imagebind';
import { decodeAudio, decodeImage, decodeVideoFrames, MediaError, parseImuCsv, parseImuNpy, probeVideo } from '@a2i/media';
import type { PipelineInput, PipelineLimits } from '@a2i/protocol';
import type { EncoderInput } from '@a2i/imagebind';

/** Every encoder's preprocess, parsed once at start by @a2i/imagebind's parsers. */
export interface Preprocessors {
  vision?: ImagePreprocess;
  depth?: ImagePreprocess;
  thermal?: ImagePreprocess;
  audio?: AudioPreprocess;
  imu?: ImuPreprocess;
  video?: VideoPreprocess;
  /** The tokenizer of the text encoder. */
  text?: ClipTokenizer;
}

export interface DecodeContext {
  preprocessors: Preprocessors;
  limits: PipelineLimits;
  /** Dimension of the pack's joint space (raw `embedding` inputs). */
  dim: number;
  /** How the vision encoder takes video views: one frame per row ([-1,3,S,S]) or clips ([-1,3,T,S,S]). */
  videoLayout: 'frames' | 'clips';
  /** Frames per vision row in the "clips" layout (a still image is repeated to that many), else 1. */
  visionFrames: number;
  signal?: AbortSignal;
}

/** An input ready for its encoder, or a raw vector in the joint space. */
export type DecodedInput = { kind: 'rows'; encoder: string; rows: EncoderInput & { rows: number } } | { kind: 'vector'; vector: Float32Array };

/** Request modality -> the encoder (pack `encoders` key) that embeds it: video frames go through vision. */
export function encoderFor(modality: PipelineInput['modality']): string {
  return modality === 'image' || modality === 'video' ? 'vision' : modality;
}

/** The preprocess a modality needs, or a typed error when this pack cannot embed it. */
function need<T>(value: T | undefined, modality: string): T {
  if (value === undefined) throw new ImageBindError('UNSUPPORTED_MODALITY', `This model pack has no ${modality} encoder`);
  return value;
}

/** Reads an upload, refusing one over the size limit before reading it (MEDIA_TOO_LARGE). */
export async function readUpload(path: string | undefined, modality: string, maxBytes: number): Promise<Uint8Array> {
  if (path === undefined) throw new MediaError('MEDIA_EMPTY', `Expected a file for the ${modality} input but received none`);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new MediaError('MEDIA_TOO_LARGE', `The ${modality} file is ${size} bytes, over the limit of ${maxBytes} bytes`);
    const bytes = new Uint8Array(size);
    await handle.read(bytes, 0, size, 0);
    return bytes;
  } finally {
    await handle.close();
  }
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const isNpy = (bytes: Uint8Array) => NPY_MAGIC.every((b, i) => bytes[i] === b);

/**
 * One input -> its encoder's rows, decoded by @a2i/media and preprocessed by @a2i/imagebind
 * as the pack's manifest says (ImageBind data.py's transforms):
 *
 * - audio: decodeAudio -> preprocessAudio: [clipsPerInput, 1, mel, frames]
 * - image: RGB -> imageToTensor [1, 3, S, S]; depth / thermal: grayscale (16-bit kept) -> [1, 1, S, S]
 * - video: frames at videoFrameTimes (the picture only: ImageBind's video modality ignores the
 *   soundtrack) -> videoViews [clips x crops (x frames), 3, S, S] through the vision encoder
 * - imu: CSV or .npy (6, N) -> imuToTensor [1, 6, length]
 * - text: the CLIP BPE tokenizer -> int64 [1, contextLength]
 * - embedding: the vector itself, checked for length and finite values
 *
 * Bad input throws the decoders' coded errors (MediaError, ImageBindError: `code`, `fault` 'input').
 */
export async function decodeInput(input: PipelineInput, ctx: DecodeContext): Promise<DecodedInput> {
  const { preprocessors: pre, limits, signal } = ctx;
  const maxBytes = limits.maxUploadBytes;
  switch (input.modality) {
    case 'embedding': {
      const vector = input.vector;
      if (!Array.isArray(vector) || vector.length !== ctx.dim) {
        throw new ImageBindError('EMBEDDING_DIMENSION_MISMATCH', `Expected a vector of length ${ctx.dim} but received ${Array.isArray(vector) ? `length ${vector.length}` : 'none'}`);
      }
      const index = vector.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (index >= 0) throw new ImageBindError('NON_FINITE_VALUE', `Expected finite numbers in the embedding but value ${index} is ${String(vector[index])}`);
      return { kind: 'vector', vector: Float32Array.from(vector) };
    }
    case 'text': {
      const tokenizer = need(pre.text, 'text');
      if (typeof input.text !== 'string') throw new ImageBindError('TEXT_INVALID', 'Expected text for the text input but received none');
      const { ids } = tokenizer.tokenize([input.text]);
      return { kind: 'rows', encoder: 'text', rows: { data: ids, rows: 1 } };
    }
    case 'audio': {
      const audioPre = need(pre.audio, 'audio');
      const bytes = await readUpload(input.file, 'audio', maxBytes);
      const pcm = await decodeAudio(bytes, { limits: { maxBytes, maxDurationSec: limits.maxAudioSeconds }, ...(signal ? { signal } : {}) });
      const data = preprocessAudio(pcm, audioPre);
      return { kind: 'rows', encoder: 'audio', rows: { data, rows: audioPre.clipsPerInput } };
    }
    case 'image':
    case 'depth':
    case 'thermal': {
      const key = input.modality === 'image' ? 'vision' : input.modality;
      const imagePre = need(pre[key], input.modality);
      const bytes = await readUpload(input.file, input.modality, maxBytes);
      const image = await decodeImage(bytes, { mode: imagePre.channels === 3 ? 'rgb' : 'grayscale', limits: { maxBytes, maxPixels: limits.maxPixels } });
      const tensor = imageToTensor(image, imagePre);
      const data = key === 'vision' && ctx.visionFrames > 1 ? imageAsClip(tensor, imagePre.channels, ctx.visionFrames) : tensor;
      return { kind: 'rows', encoder: key, rows: { data, rows: 1 } };
    }
    case 'video': {
      const videoPre = need(pre.video, 'video');
      const bytes = await readUpload(input.file, 'video', maxBytes);
      const info = await probeVideo(bytes, { limits: { maxBytes }, ...(signal ? { signal } : {}) });
      if (info.durationSec === undefined || info.fps === undefined) {
        throw new MediaError('VIDEO_INVALID', 'The video does not state its duration and frame rate, so its clips cannot be placed');
      }
      const plan = videoFrameTimes(info.durationSec, info.fps, videoPre);
      const frames = await decodeVideoFrames(bytes, {
        times: plan.times,
        limits: { maxBytes, maxFrames: Math.max(16, plan.times.length) },
        ...(signal ? { signal } : {}),
      });
      const views = videoViews(frames, videoPre, { layout: ctx.videoLayout });
      return { kind: 'rows', encoder: 'vision', rows: { data: views.data, rows: views.views } };
    }
    case 'imu': {
      const imuPre = need(pre.imu, 'imu');
      const bytes = await readUpload(input.file, 'imu', maxBytes);
      const signalData = isNpy(bytes) ? parseImuNpy(bytes, { limits: { maxBytes } }) : parseImuCsv(bytes, { limits: { maxBytes } });
      return { kind: 'rows', encoder: 'imu', rows: { data: imuToTensor(signalData, imuPre), rows: 1 } };
    }
    default:
      throw new ImageBindError('UNSUPPORTED_MODALITY', `This model pack cannot embed ${String((input as { modality: unknown }).modality)} inputs`);
  }
}
