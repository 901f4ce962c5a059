import type { OutputRequest } from '@a2i/protocol';
import type { ParsedArgs } from './cli-options.js';
import { numberFlag, optionsHint } from './request-options.js';
import { UsageError } from './cli-options.js';

/**
 * `a2i video`'s output (README "Sound to video"): a video that follows the one `--audio` input
 * (`--fps`, `--window`, `--hop`, `--smoothing`), or with `--morph --duration S` one that moves
 * from the first input to the last; `--frames DIR` asks for the frames too. Shapes are checked
 * here, the limits by the server.
 */
export function videoOutputOf(values: ParsedArgs['values']): OutputRequest {
  const fps = numberFlag(values, 'fps', false, 'video');
  const frames = typeof values.frames === 'string';
  if (values.morph === true) {
    const duration = numberFlag(values, 'duration', false, 'video');
    if (duration === undefined) throw new UsageError('Expected --duration SECONDS with --morph', optionsHint('video'));
    for (const name of ['window', 'hop', 'smoothing']) {
      if (values[name] !== undefined) throw new UsageError(`Expected no --${name} with --morph (it follows no sound)`, optionsHint('video'));
    }
    return { type: 'morph', duration, frames, ...(fps !== undefined ? { fps } : {}) };
  }
  if (values.duration !== undefined) throw new UsageError('Expected --duration only with --morph (a video of a sound lasts as long as the sound)', optionsHint('video'));
  const output: Extract<OutputRequest, { type: 'video' }> = { type: 'video', frames };
  const set = (key: 'fps' | 'window' | 'hop' | 'smoothing', value: number | undefined) => {
    if (value !== undefined) output[key] = value;
  };
  set('fps', fps);
  set('window', numberFlag(values, 'window', false, 'video'));
  set('hop', numberFlag(values, 'hop', false, 'video'));
  set('smoothing', numberFlag(values, 'smoothing', false, 'video'));
  return output;
}
