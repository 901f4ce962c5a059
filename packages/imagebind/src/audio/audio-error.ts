import { createGuards } from '@a2i/protocol/guards';
import { ImageBindError } from '../imagebind-error.js';

/**
 * Audio that cannot be preprocessed, or audio options that cannot be honoured: an
 * ImageBindError (so one `instanceof` catches every modality, and `name` stays
 * 'ImageBindError'); `instanceof AudioError` tells the audio ones apart.
 * `code` is stable (clients and tests match on it); `message` says what was wrong in words a
 * person can act on.
 *
 * Codes: INVALID_OPTION (an option has the wrong type or range), UNSUPPORTED_OPTION (a valid
 * torchaudio value this implementation refuses rather than approximates), AUDIO_INVALID_PCM
 * (no channels, ragged channels, bad sample rate, missing channel), NON_FINITE_VALUE (NaN or
 * infinite samples inside a clip), AUDIO_TOO_SHORT (a clip shorter than one analysis frame:
 * torchaudio's fbank asserts there).
 */
export class AudioError extends ImageBindError {}

/** The option guards (`@a2i/protocol/guards`), throwing AudioErrors. */
export const audioGuards = createGuards((code, message) => new AudioError(code, message));
