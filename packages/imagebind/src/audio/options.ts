import { audioGuards } from './audio-error.js';

/** torchaudio.functional.resample options (torchaudio 0.13 names in brackets). */
export interface ResampleOptions {
  /** 'sinc_interp_hann' ("sinc_interpolation") or 'sinc_interp_kaiser' ("kaiser_window"). */
  method: ResampleMethod;
  /** Zero crossings of the sinc kept on each side (torchaudio `lowpass_filter_width`). */
  lowpassFilterWidth: number;
  /** Cut-off as a fraction of the lower Nyquist frequency (torchaudio `rolloff`). */
  rolloff: number;
  /** Kaiser window shape; torchaudio's default 14.769656459379492 when absent. */
  beta?: number;
}
export type ResampleMethod = 'sinc_interp_hann' | 'sinc_interp_kaiser';

/** Window types of torchaudio.compliance.kaldi (Kaldi's feature-window.cc). */
export type KaldiWindowType = 'hanning' | 'hamming' | 'povey' | 'rectangular' | 'blackman';

/** torchaudio.compliance.kaldi.fbank options, named as in the manifest (camelCase). */
export interface KaldiFbankOptions {
  numMelBins: number;
  frameLengthMs: number;
  frameShiftMs: number;
  windowType: KaldiWindowType;
  /** Only for windowType 'blackman'; torchaudio's default 0.42. */
  blackmanCoeff?: number;
  /** Must be 0: random dither would make the features non-deterministic. */
  dither: number;
  preemphasisCoefficient: number;
  removeDcOffset: boolean;
  /** Must be true: the FFT size is the next power of two of the frame length. */
  roundToPowerOfTwo: boolean;
  lowFreq: number;
  /** <= 0 means an offset from the Nyquist frequency (0 = Nyquist), as in Kaldi. */
  highFreq: number;
  usePower: boolean;
  useLogFbank: boolean;
  /** Must be false (no energy column). */
  useEnergy: boolean;
  /** Only moves the energy column, so without energy it changes nothing. */
  htkCompat: boolean;
  snipEdges: boolean;
  /** Must be 'htk': Kaldi's mel = 1127 ln(1 + f / 700). */
  melScale: 'htk';
}

/** The manifest's `encoders.audio.preprocess` (models/README.md). */
export interface AudioPreprocess {
  type: 'audio';
  sampleRate: number;
  channel: number;
  resample: ResampleOptions;
  clipDuration: number;
  clipsPerInput: number;
  subtractMean: boolean;
  fbank: KaldiFbankOptions;
  targetLength: number;
  normalize: { mean: number; std: number };
}

// ------------------------------------------------------------------ guards
// The shared guards (`@a2i/protocol/guards`): "Expected <what> for <name> but received <value>".
const {
  invalid, expectObject, expectKnownKeys, expectFiniteNumber, expectPositiveNumber, expectPositiveInteger, expectNonNegativeInteger,
  expectBoolean, expectOneOf,
} = audioGuards;

// ------------------------------------------------------------------ resample
const RESAMPLE_KEYS = ['method', 'lowpassFilterWidth', 'rolloff', 'beta'] as const;
const RESAMPLE_METHODS: readonly ResampleMethod[] = ['sinc_interp_hann', 'sinc_interp_kaiser'];

/** Fills torchaudio's defaults (hann, width 6, rolloff 0.99) and checks every field. */
export function parseResampleOptions(options: unknown = {}, name = 'resample options'): ResampleOptions {
  const o = expectObject(options, name);
  expectKnownKeys(o, name, RESAMPLE_KEYS);
  const method = expectOneOf(o['method'] ?? 'sinc_interp_hann', `${name}.method`, RESAMPLE_METHODS);
  const lowpassFilterWidth = expectPositiveInteger(o['lowpassFilterWidth'] ?? 6, `${name}.lowpassFilterWidth`);
  const rolloff = expectPositiveNumber(o['rolloff'] ?? 0.99, `${name}.rolloff`);
  if (rolloff > 1) throw invalid('a number in (0, 1]', `${name}.rolloff`, rolloff);
  const resolved: ResampleOptions = { method, lowpassFilterWidth, rolloff };
  if (o['beta'] !== undefined) {
    if (method !== 'sinc_interp_kaiser') throw invalid('no beta (it only shapes the Kaiser window)', `${name}.beta`, o['beta']);
    resolved.beta = expectFiniteNumber(o['beta'], `${name}.beta`);
  }
  return resolved;
}

// ------------------------------------------------------------------ fbank
const FBANK_KEYS = [
  'numMelBins', 'frameLengthMs', 'frameShiftMs', 'windowType', 'blackmanCoeff', 'dither',
  'preemphasisCoefficient', 'removeDcOffset', 'roundToPowerOfTwo', 'lowFreq', 'highFreq', 'usePower',
  'useLogFbank', 'useEnergy', 'htkCompat', 'snipEdges', 'melScale',
] as const;
const WINDOW_TYPES: readonly KaldiWindowType[] = ['hanning', 'hamming', 'povey', 'rectangular', 'blackman'];

/** Checks every fbank field (all required, as the manifest writes them). */
export function parseFbankOptions(options: unknown, name = 'fbank options'): KaldiFbankOptions {
  const o = expectObject(options, name);
  expectKnownKeys(o, name, FBANK_KEYS);
  const numMelBins = expectPositiveInteger(o['numMelBins'], `${name}.numMelBins`);
  // torchaudio get_mel_banks: assert num_bins > 3
  if (numMelBins <= 3) throw invalid('an integer > 3', `${name}.numMelBins`, numMelBins);
  const resolved: KaldiFbankOptions = {
    numMelBins,
    frameLengthMs: expectPositiveNumber(o['frameLengthMs'], `${name}.frameLengthMs`),
    frameShiftMs: expectPositiveNumber(o['frameShiftMs'], `${name}.frameShiftMs`),
    windowType: expectOneOf(o['windowType'], `${name}.windowType`, WINDOW_TYPES),
    dither: expectFiniteNumber(o['dither'], `${name}.dither`),
    preemphasisCoefficient: expectFiniteNumber(o['preemphasisCoefficient'], `${name}.preemphasisCoefficient`),
    removeDcOffset: expectBoolean(o['removeDcOffset'], `${name}.removeDcOffset`),
    roundToPowerOfTwo: expectBoolean(o['roundToPowerOfTwo'], `${name}.roundToPowerOfTwo`),
    lowFreq: expectFiniteNumber(o['lowFreq'], `${name}.lowFreq`),
    highFreq: expectFiniteNumber(o['highFreq'], `${name}.highFreq`),
    usePower: expectBoolean(o['usePower'], `${name}.usePower`),
    useLogFbank: expectBoolean(o['useLogFbank'], `${name}.useLogFbank`),
    useEnergy: expectBoolean(o['useEnergy'], `${name}.useEnergy`),
    htkCompat: expectBoolean(o['htkCompat'], `${name}.htkCompat`),
    snipEdges: expectBoolean(o['snipEdges'], `${name}.snipEdges`),
    melScale: o['melScale'] as 'htk',
  };
  if (o['blackmanCoeff'] !== undefined) resolved.blackmanCoeff = expectFiniteNumber(o['blackmanCoeff'], `${name}.blackmanCoeff`);
  if (resolved.preemphasisCoefficient < 0 || resolved.preemphasisCoefficient > 1) {
    // torchaudio: assert 0.0 <= preemphasis_coefficient <= 1.0
    throw invalid('a number in [0, 1]', `${name}.preemphasisCoefficient`, resolved.preemphasisCoefficient);
  }
  // Valid torchaudio values this implementation refuses rather than approximates:
  if (resolved.dither !== 0) throw invalid('0 (dither adds random noise)', `${name}.dither`, resolved.dither, 'UNSUPPORTED_OPTION');
  if (!resolved.roundToPowerOfTwo) {
    throw invalid('true (the FFT runs on a power-of-two frame)', `${name}.roundToPowerOfTwo`, false, 'UNSUPPORTED_OPTION');
  }
  if (resolved.useEnergy) throw invalid('false (no energy column)', `${name}.useEnergy`, true, 'UNSUPPORTED_OPTION');
  if (o['melScale'] !== 'htk') throw invalid('"htk" (Kaldi\'s 1127 ln(1 + f/700))', `${name}.melScale`, o['melScale'], 'UNSUPPORTED_OPTION');
  return resolved;
}

// ------------------------------------------------------------------ preprocess
const PREPROCESS_KEYS = [
  'type', 'sampleRate', 'channel', 'resample', 'clipDuration', 'clipsPerInput', 'subtractMean', 'fbank',
  'targetLength', 'normalize',
] as const;

/** Checks a manifest `encoders.audio.preprocess` object; every field is required. */
export function parseAudioPreprocess(preprocess: unknown, name = 'preprocess'): AudioPreprocess {
  const p = expectObject(preprocess, name);
  expectKnownKeys(p, name, PREPROCESS_KEYS);
  if (p['type'] !== 'audio') throw invalid('"audio"', `${name}.type`, p['type']);
  expectObject(p['resample'], `${name}.resample`);
  const normalize = expectObject(p['normalize'], `${name}.normalize`);
  expectKnownKeys(normalize, `${name}.normalize`, ['mean', 'std']);
  const resolved: AudioPreprocess = {
    type: 'audio',
    sampleRate: expectPositiveInteger(p['sampleRate'], `${name}.sampleRate`),
    channel: expectNonNegativeInteger(p['channel'], `${name}.channel`),
    resample: parseResampleOptions(p['resample'], `${name}.resample`),
    clipDuration: expectPositiveNumber(p['clipDuration'], `${name}.clipDuration`),
    clipsPerInput: expectPositiveInteger(p['clipsPerInput'], `${name}.clipsPerInput`),
    subtractMean: expectBoolean(p['subtractMean'], `${name}.subtractMean`),
    fbank: parseFbankOptions(p['fbank'], `${name}.fbank`),
    targetLength: expectPositiveInteger(p['targetLength'], `${name}.targetLength`),
    normalize: {
      mean: expectFiniteNumber(normalize['mean'], `${name}.normalize.mean`),
      std: expectPositiveNumber(normalize['std'], `${name}.normalize.std`),
    },
  };
  return resolved;
}
