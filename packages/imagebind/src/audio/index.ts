// ImageBind's audio front end (data.py load_and_transform_audio_data), matching torchaudio 0.13:
// PCM -> resample -> clips -> Kaldi fbank -> [clips, 1, mel, frames], every constant from the
// manifest's encoders.audio.preprocess. Pure functions, no I/O.
export { AudioError } from './audio-error.js';
export {
  parseAudioPreprocess,
  parseFbankOptions,
  parseResampleOptions,
  type AudioPreprocess,
  type KaldiFbankOptions,
  type KaldiWindowType,
  type ResampleMethod,
  type ResampleOptions,
} from './options.js';
export {
  resampleSinc,
  resampledLength,
  resampledRangeSums,
  resampleSincRanges,
  applySincResampleKernelRange,
  sincResampleKernel,
  buildSincResampleKernel,
  applySincResampleKernel,
  type SincResampleKernel,
} from './resample.js';
export { hannWindow, kaldiWindow } from './windows.js';
export { melScale, inverseMelScale, kaldiMelBanks, type KaldiMelBanks } from './mel.js';
export { KaldiFbank, kaldiFbank, kaldiFbankFor, FLOAT32_EPSILON, type FbankResult } from './kaldi-fbank.js';
export { audioClipSpans, audioClipSampleRanges, type AudioClipSpan, type AudioClipRange } from './clip-sampling.js';
export { preprocessAudio, preprocessAudioWithShape, type Pcm, type PreprocessedAudio } from './preprocess-audio.js';
