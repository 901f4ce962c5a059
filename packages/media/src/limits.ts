import { MediaError } from './media-error.js';

/**
 * Limits for every decoder, passed in by the caller (server configuration); each field has a
 * safe default. Memory worst cases are written beside each default.
 */
export interface AudioLimits {
  /** Largest upload accepted, in bytes. */
  maxBytes: number;
  /** Longest audio accepted, in seconds; read from the header before decoding where the format says. */
  maxDurationSec: number;
  maxChannels: number;
  maxSampleRate: number;
  /** Time allowed to the ffmpeg process that extracts a video's soundtrack. */
  timeoutMs: number;
}

export interface ImageLimits {
  maxBytes: number;
  /** width x height read from the header; larger images are refused before any pixel is decoded. */
  maxPixels: number;
}

export interface VideoLimits {
  maxBytes: number;
  maxDurationSec: number;
  /** width x height of one frame. */
  maxPixels: number;
  /** Frames one call may ask for (each is kept in memory, height x width x 3 bytes). */
  maxFrames: number;
  /** Time allowed to one ffmpeg / ffprobe process. */
  timeoutMs: number;
}

export interface ImuLimits {
  maxBytes: number;
  /** Samples (rows) per channel. */
  maxSamples: number;
}

const MiB = 1024 * 1024;

// 120 s x 96 kHz x 8 channels x 4 bytes = 368 MB at worst; a stereo 48 kHz clip is 46 MB.
export const DEFAULT_AUDIO_LIMITS: Readonly<AudioLimits> = Object.freeze({
  maxBytes: 64 * MiB,
  maxDurationSec: 120,
  maxChannels: 8,
  maxSampleRate: 96_000,
  timeoutMs: 60_000,
});

// 40 Mpx x 3 bytes = 120 MB of RGB (16-bit grey: 80 MB).
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxBytes: 32 * MiB,
  maxPixels: 40_000_000,
});

// 16 frames of 4K (3840 x 2160 x 3 bytes = 24.9 MB) = 398 MB at worst.
export const DEFAULT_VIDEO_LIMITS: Readonly<VideoLimits> = Object.freeze({
  maxBytes: 256 * MiB,
  maxDurationSec: 300,
  maxPixels: 3840 * 2160,
  maxFrames: 16,
  timeoutMs: 60_000,
});

// 100,000 rows = 500 s at 200 Hz (ImageBind's IMU rate); 2.4 MB of float32.
export const DEFAULT_IMU_LIMITS: Readonly<ImuLimits> = Object.freeze({
  maxBytes: 16 * MiB,
  maxSamples: 100_000,
});

/**
 * Merges `overrides` over `defaults`, refusing anything but a positive finite number
 * (a configuration error, so a TypeError rather than a MediaError).
 */
export function resolveLimits<T extends object>(defaults: Readonly<T>, overrides: Partial<T> | undefined, name: string): T {
  const limits = { ...defaults, ...overrides } as T;
  for (const [key, value] of Object.entries(limits)) {
    if (!(key in defaults)) throw new TypeError(`Expected one of ${Object.keys(defaults).join(', ')} in ${name} but received ${key}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`Expected a positive number for ${name}.${key} but received ${String(value)}`);
    }
  }
  return limits;
}

/** The checks every decoder makes first: something to decode, and not too much of it. */
export function assertByteSize(bytes: Uint8Array, maxBytes: number, what: string): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`Expected a Uint8Array for bytes but received ${typeof bytes}`);
  if (bytes.length === 0) throw new MediaError('MEDIA_EMPTY', `The ${what} file is empty`);
  if (bytes.length > maxBytes) {
    throw new MediaError('MEDIA_TOO_LARGE', `The ${what} file is ${bytes.length} bytes, over the limit of ${maxBytes} bytes`);
  }
}
