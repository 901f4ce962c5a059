import { describe, expect, it } from 'vitest';
import { DEFAULT_VIDEO_LIMITS, VIDEO_DEFAULTS, checkVideoLength, generationRequestSchema, resolveOutput, type PackDescription } from '../src/index.js';

const PACK: PackDescription = {
  name: 'test',
  dim: 4,
  modalities: ['audio', 'text', 'image', 'embedding'],
  imageSize: { width: 8, height: 8 },
  prior: { available: false },
  defaults: { steps: 10, guidance: 3, noiseLevel: 0 },
  limits: { maxSteps: 50, maxImages: 4, maxNoiseLevel: 0 },
  outputs: ['image', 'video'],
};
const sound = { modality: 'audio', file: 'sound' };
const resolve = (request: object, pack = PACK) => resolveOutput(generationRequestSchema.parse(request), pack, DEFAULT_VIDEO_LIMITS);
const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'none';
};

describe('a request\'s output (issue #19)', () => {
  it('images need no output; a video fills in every default and names its sound', () => {
    expect(resolve({ inputs: [sound] })).toBeNull();
    expect(resolve({ inputs: [sound], output: { type: 'image' } })).toBeNull();
    expect(resolve({ inputs: [{ modality: 'text', text: 'rain' }, sound], output: { type: 'video' } })).toEqual({
      type: 'video',
      fps: VIDEO_DEFAULTS.fps,
      windowSec: VIDEO_DEFAULTS.windowSec,
      hopSec: VIDEO_DEFAULTS.hopSec,
      smoothingSec: VIDEO_DEFAULTS.smoothingSec,
      frames: false,
      sound: 1,
    });
    // a window shorter than the default hop takes a hop of one window
    expect(resolve({ inputs: [sound], output: { type: 'video', window: 0.25 } })).toMatchObject({ windowSec: 0.25, hopSec: 0.25 });
    expect(resolve({ inputs: [sound, { modality: 'text', text: 'b' }], output: { type: 'morph', duration: 3, fps: 10, frames: true } })).toEqual({ type: 'morph', fps: 10, durationSec: 3, frames: true });
  });

  it.each([
    ['no audio input', { inputs: [{ modality: 'text', text: 'a' }], output: { type: 'video' } }, 'VIDEO_NEEDS_AUDIO'],
    ['two audio inputs', { inputs: [sound, { modality: 'audio', file: 'b' }], output: { type: 'video' } }, 'VIDEO_NEEDS_AUDIO'],
    ['fps below the range', { inputs: [sound], output: { type: 'video', fps: 0.5 } }, 'LIMIT_EXCEEDED'],
    ['fps above the range', { inputs: [sound], output: { type: 'video', fps: 31 } }, 'LIMIT_EXCEEDED'],
    ['numImages 2', { inputs: [sound], numImages: 2, output: { type: 'video' } }, 'INVALID_REQUEST'],
    ['neighbors', { inputs: [sound], neighbors: { collection: 'c' }, output: { type: 'video' } }, 'INVALID_REQUEST'],
    ['a morph of one input that counts', { inputs: [sound, { modality: 'text', text: 'a', weight: 0 }], output: { type: 'morph', duration: 2 } }, 'MORPH_NEEDS_INPUTS'],
    ['a morph over the length limit', { inputs: [sound, { modality: 'text', text: 'a' }], output: { type: 'morph', duration: 301, fps: 1 } }, 'LIMIT_EXCEEDED'],
    ['a morph over the frame limit', { inputs: [sound, { modality: 'text', text: 'a' }], output: { type: 'morph', duration: 100, fps: 30 } }, 'LIMIT_EXCEEDED'],
  ])('refuses %s', (_what, request, code) => {
    expect(codeOf(() => resolve(request))).toBe(code);
  });

  it('refuses a video when the workers cannot write MP4 (no ffmpeg): MEDIA_NEEDS_FFMPEG', () => {
    expect(codeOf(() => resolve({ inputs: [sound], output: { type: 'video' } }, { ...PACK, outputs: ['image'] }))).toBe('MEDIA_NEEDS_FFMPEG');
    const { outputs: _none, ...older } = PACK;
    expect(codeOf(() => resolve({ inputs: [sound], output: { type: 'video' } }, older))).toBe('MEDIA_NEEDS_FFMPEG');
  });

  it('the schema refuses a hop longer than its window and unknown fields', () => {
    expect(generationRequestSchema.safeParse({ inputs: [sound], output: { type: 'video', window: 1, hop: 1.5 } }).success).toBe(false);
    expect(generationRequestSchema.safeParse({ inputs: [sound], output: { type: 'video', hop: 2.5 } }).success).toBe(false);
    expect(generationRequestSchema.safeParse({ inputs: [sound], output: { type: 'video', loop: true } }).success).toBe(false);
    expect(generationRequestSchema.safeParse({ inputs: [sound], output: { type: 'morph' } }).success).toBe(false);
  });

  it('checks a sound\'s length: frames are round(length x fps), at most the limits', () => {
    const output = { type: 'video' as const, fps: 8, windowSec: 2, hopSec: 0.5, smoothingSec: 0.5, frames: false, sound: 0 };
    expect(checkVideoLength(12, output, DEFAULT_VIDEO_LIMITS)).toBe(96);
    expect(checkVideoLength(0.01, output, DEFAULT_VIDEO_LIMITS)).toBe(1);
    expect(codeOf(() => checkVideoLength(300.5, output, DEFAULT_VIDEO_LIMITS))).toBe('AUDIO_TOO_LONG');
    expect(codeOf(() => checkVideoLength(60, output, { ...DEFAULT_VIDEO_LIMITS, maxFrames: 100 }))).toBe('LIMIT_EXCEEDED');
  });
});
