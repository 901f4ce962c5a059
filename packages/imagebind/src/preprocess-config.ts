import { imagebindGuards } from './imagebind-error.js';

const {
  expectFiniteNumber,
  expectIntegerIn,
  expectNumberArray,
  expectObject,
  expectOneOf,
  expectPositiveInteger,
  expectPositiveNumber,
  expectString,
  invalid,
} = imagebindGuards;

// Typed views of a pack manifest's `encoders.<modality>.preprocess` sections
// (models/README.md, format imagebind-unclip-pack/1). Every model constant the
// preprocessing uses comes from here; the parsers check each field once, by name.

/** `vision` (type "image"), `depth`, `thermal`: ImageBind data.py load_and_transform_vision_data. */
export interface ImagePreprocess {
  type: 'image' | 'depth' | 'thermal';
  /** Short side after resize and the square crop's side. */
  size: number;
  resize: 'bicubic';
  crop: 'center';
  /** Multiplies 8-bit values (1/255 for torchvision's ToTensor). */
  rescale: number;
  /** One per channel. */
  mean: number[];
  std: number[];
  channels: 1 | 3;
}

/** `imu`: [channels, length] at sampleRate. */
export interface ImuPreprocess {
  type: 'imu';
  channels: number;
  length: number;
  sampleRate: number;
}

/** `video`: data.py load_and_transform_video_data; frames go through the `encoder` (vision). */
export interface VideoPreprocess {
  type: 'video';
  encoder: string;
  clipDuration: number;
  clipsPerVideo: number;
  framesPerClip: number;
  spatialCrops: 1 | 3;
  size: number;
  resize: 'bilinear';
  /** Multiplies 8-bit values; data.py divides frames by 255 (the default when absent). */
  rescale: number;
  mean: number[];
  std: number[];
}

/** `text`: CLIP's byte-level BPE. */
export interface ClipBpeConfig {
  type: 'clip-bpe';
  /** Pack-relative paths. */
  vocab: string;
  merges: string;
  contextLength: number;
  startToken: string;
  endToken: string;
  padId: number;
  lowercase: boolean;
}

export interface TextPreprocess {
  type: 'text';
  tokenizer: ClipBpeConfig;
}

const M = 'INVALID_MANIFEST';

export function parseImagePreprocess(raw: unknown, name = 'preprocess'): ImagePreprocess {
  const p = expectObject(raw, name, M);
  const type = expectOneOf(p.type, `${name}.type`, ['image', 'depth', 'thermal'] as const, M);
  const channels = expectIntegerIn(p.channels, `${name}.channels`, [1, 3] as const, M);
  if ((type === 'image') !== (channels === 3)) {
    throw invalid(type === 'image' ? '3 channels for type "image"' : `1 channel for type "${type}"`, `${name}.channels`, p.channels, M);
  }
  return {
    type,
    size: expectPositiveInteger(p.size, `${name}.size`, M),
    resize: expectOneOf(p.resize, `${name}.resize`, ['bicubic'] as const, M),
    crop: expectOneOf(p.crop, `${name}.crop`, ['center'] as const, M),
    rescale: expectPositiveNumber(p.rescale, `${name}.rescale`, M),
    mean: expectNumberArray(p.mean, `${name}.mean`, channels, false, M),
    std: expectNumberArray(p.std, `${name}.std`, channels, true, M),
    channels,
  };
}

export function parseImuPreprocess(raw: unknown, name = 'preprocess'): ImuPreprocess {
  const p = expectObject(raw, name, M);
  expectOneOf(p.type, `${name}.type`, ['imu'] as const, M);
  return {
    type: 'imu',
    channels: expectPositiveInteger(p.channels, `${name}.channels`, M),
    length: expectPositiveInteger(p.length, `${name}.length`, M),
    sampleRate: expectPositiveNumber(p.sampleRate, `${name}.sampleRate`, M),
  };
}

export function parseVideoPreprocess(raw: unknown, name = 'preprocess'): VideoPreprocess {
  const p = expectObject(raw, name, M);
  expectOneOf(p.type, `${name}.type`, ['video'] as const, M);
  const spatialCrops = expectIntegerIn(p.spatialCrops, `${name}.spatialCrops`, [1, 3] as const, M);
  return {
    type: 'video',
    encoder: expectString(p.encoder, `${name}.encoder`, M),
    clipDuration: expectPositiveNumber(p.clipDuration, `${name}.clipDuration`, M),
    clipsPerVideo: expectPositiveInteger(p.clipsPerVideo, `${name}.clipsPerVideo`, M),
    framesPerClip: expectPositiveInteger(p.framesPerClip, `${name}.framesPerClip`, M),
    spatialCrops,
    size: expectPositiveInteger(p.size, `${name}.size`, M),
    resize: expectOneOf(p.resize, `${name}.resize`, ['bilinear'] as const, M),
    // data.py: `video_clip / 255.0` (the frames are 8-bit); a pack may say otherwise.
    rescale: p.rescale === undefined ? 1 / 255 : expectPositiveNumber(p.rescale, `${name}.rescale`, M),
    mean: expectNumberArray(p.mean, `${name}.mean`, 3, false, M),
    std: expectNumberArray(p.std, `${name}.std`, 3, true, M),
  };
}

export function parseTextPreprocess(raw: unknown, name = 'preprocess'): TextPreprocess {
  const p = expectObject(raw, name, M);
  expectOneOf(p.type, `${name}.type`, ['text'] as const, M);
  const t = expectObject(p.tokenizer, `${name}.tokenizer`, M);
  expectOneOf(t.type, `${name}.tokenizer.type`, ['clip-bpe'] as const, M);
  if (t.lowercase !== true) {
    // CLIP's SimpleTokenizer always lower-cases; a cased BPE is another tokenizer.
    throw invalid('true (CLIP BPE lower-cases)', `${name}.tokenizer.lowercase`, t.lowercase, M);
  }
  const padId = expectFiniteNumber(t.padId, `${name}.tokenizer.padId`, M);
  if (!Number.isInteger(padId) || padId < 0) throw invalid('a non-negative integer', `${name}.tokenizer.padId`, t.padId, M);
  const contextLength = expectPositiveInteger(t.contextLength, `${name}.tokenizer.contextLength`, M);
  if (contextLength < 2) throw invalid('a context length of at least 2 (start and end tokens)', `${name}.tokenizer.contextLength`, contextLength, M);
  return {
    type: 'text',
    tokenizer: {
      type: 'clip-bpe',
      vocab: expectString(t.vocab, `${name}.tokenizer.vocab`, M),
      merges: expectString(t.merges, `${name}.tokenizer.merges`, M),
      contextLength,
      startToken: expectString(t.startToken, `${name}.tokenizer.startToken`, M),
      endToken: expectString(t.endToken, `${name}.tokenizer.endToken`, M),
      padId,
      lowercase: true,
    },
  };
}
