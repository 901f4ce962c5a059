import { AudioError } from './audio-error.js';

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
// One error template for every option (sharp's lib/is.js style).
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function invalidOption(what: string, name: string, value: unknown): AudioError {
  return new AudioError('INVALID_OPTION', `Expected ${what} for ${name} but received ${show(value)}`);
}

export function unsupportedOption(what: string, name: string, value: unknown): AudioError {
  return new AudioError(
    'UNSUPPORTED_OPTION',
    `Expected ${what} for ${name} but received ${show(value)} (a torchaudio value this implementation does not support)`,
  );
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireRecord(value: unknown, name: string): Record<string, unknown> {
  if (!isRecord(value)) throw invalidOption('an object', name, value);
  return value;
}

/** Refuses keys the reader does not know, so a misspelt option never passes silently. */
export function rejectUnknownKeys(value: Record<string, unknown>, known: readonly string[], name: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw invalidOption(`one of the options ${known.join(', ')}`, `${name} key`, key);
  }
}

export function finiteNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidOption('a finite number', name, value);
  return value;
}

export function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidOption('a finite number > 0', name, value);
  }
  return value;
}

export function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidOption('an integer > 0', name, value);
  }
  return value;
}

export function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidOption('an integer >= 0', name, value);
  }
  return value;
}

export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidOption('a boolean', name, value);
  return value;
}

// ------------------------------------------------------------------ resample
const RESAMPLE_KEYS = ['method', 'lowpassFilterWidth', 'rolloff', 'beta'] as const;
const RESAMPLE_METHODS: readonly ResampleMethod[] = ['sinc_interp_hann', 'sinc_interp_kaiser'];

/** Fills torchaudio's defaults (hann, width 6, rolloff 0.99) and checks every field. */
export function parseResampleOptions(options: unknown = {}, name = 'resample options'): ResampleOptions {
  const o = requireRecord(options, name);
  rejectUnknownKeys(o, RESAMPLE_KEYS, name);
  const method = o['method'] ?? 'sinc_interp_hann';
  if (typeof method !== 'string' || !RESAMPLE_METHODS.includes(method as ResampleMethod)) {
    throw invalidOption(`one of ${RESAMPLE_METHODS.map((m) => `"${m}"`).join(', ')}`, `${name}.method`, method);
  }
  const lowpassFilterWidth = positiveInteger(o['lowpassFilterWidth'] ?? 6, `${name}.lowpassFilterWidth`);
  const rolloff = positiveNumber(o['rolloff'] ?? 0.99, `${name}.rolloff`);
  if (rolloff > 1) throw invalidOption('a number in (0, 1]', `${name}.rolloff`, rolloff);
  const resolved: ResampleOptions = { method: method as ResampleMethod, lowpassFilterWidth, rolloff };
  if (o['beta'] !== undefined) {
    if (method !== 'sinc_interp_kaiser') throw invalidOption('no beta (it only shapes the Kaiser window)', `${name}.beta`, o['beta']);
    resolved.beta = finiteNumber(o['beta'], `${name}.beta`);
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
  const o = requireRecord(options, name);
  rejectUnknownKeys(o, FBANK_KEYS, name);
  const numMelBins = positiveInteger(o['numMelBins'], `${name}.numMelBins`);
  // torchaudio get_mel_banks: assert num_bins > 3
  if (numMelBins <= 3) throw invalidOption('an integer > 3', `${name}.numMelBins`, numMelBins);
  const windowType = o['windowType'];
  if (typeof windowType !== 'string' || !WINDOW_TYPES.includes(windowType as KaldiWindowType)) {
    throw invalidOption(`one of ${WINDOW_TYPES.map((w) => `"${w}"`).join(', ')}`, `${name}.windowType`, windowType);
  }
  const resolved: KaldiFbankOptions = {
    numMelBins,
    frameLengthMs: positiveNumber(o['frameLengthMs'], `${name}.frameLengthMs`),
    frameShiftMs: positiveNumber(o['frameShiftMs'], `${name}.frameShiftMs`),
    windowType: windowType as KaldiWindowType,
    dither: finiteNumber(o['dither'], `${name}.dither`),
    preemphasisCoefficient: finiteNumber(o['preemphasisCoefficient'], `${name}.preemphasisCoefficient`),
    removeDcOffset: boolean(o['removeDcOffset'], `${name}.removeDcOffset`),
    roundToPowerOfTwo: boolean(o['roundToPowerOfTwo'], `${name}.roundToPowerOfTwo`),
    lowFreq: finiteNumber(o['lowFreq'], `${name}.lowFreq`),
    highFreq: finiteNumber(o['highFreq'], `${name}.highFreq`),
    usePower: boolean(o['usePower'], `${name}.usePower`),
    useLogFbank: boolean(o['useLogFbank'], `${name}.useLogFbank`),
    useEnergy: boolean(o['useEnergy'], `${name}.useEnergy`),
    htkCompat: boolean(o['htkCompat'], `${name}.htkCompat`),
    snipEdges: boolean(o['snipEdges'], `${name}.snipEdges`),
    melScale: o['melScale'] as 'htk',
  };
  if (o['blackmanCoeff'] !== undefined) resolved.blackmanCoeff = finiteNumber(o['blackmanCoeff'], `${name}.blackmanCoeff`);
  if (resolved.preemphasisCoefficient < 0 || resolved.preemphasisCoefficient > 1) {
    // torchaudio: assert 0.0 <= preemphasis_coefficient <= 1.0
    throw invalidOption('a number in [0, 1]', `${name}.preemphasisCoefficient`, resolved.preemphasisCoefficient);
  }
  if (resolved.dither !== 0) throw unsupportedOption('0 (dither adds random noise)', `${name}.dither`, resolved.dither);
  if (!resolved.roundToPowerOfTwo) {
    throw unsupportedOption('true (the FFT runs on a power-of-two frame)', `${name}.roundToPowerOfTwo`, false);
  }
  if (resolved.useEnergy) throw unsupportedOption('false (no energy column)', `${name}.useEnergy`, true);
  if (o['melScale'] !== 'htk') throw unsupportedOption('"htk" (Kaldi\'s 1127 ln(1 + f/700))', `${name}.melScale`, o['melScale']);
  return resolved;
}

// ------------------------------------------------------------------ preprocess
const PREPROCESS_KEYS = [
  'type', 'sampleRate', 'channel', 'resample', 'clipDuration', 'clipsPerInput', 'subtractMean', 'fbank',
  'targetLength', 'normalize',
] as const;

/** Checks a manifest `encoders.audio.preprocess` object; every field is required. */
export function parseAudioPreprocess(preprocess: unknown, name = 'preprocess'): AudioPreprocess {
  const p = requireRecord(preprocess, name);
  rejectUnknownKeys(p, PREPROCESS_KEYS, name);
  if (p['type'] !== 'audio') throw invalidOption('"audio"', `${name}.type`, p['type']);
  if (!isRecord(p['resample'])) throw invalidOption('an object', `${name}.resample`, p['resample']);
  const normalize = requireRecord(p['normalize'], `${name}.normalize`);
  rejectUnknownKeys(normalize, ['mean', 'std'], `${name}.normalize`);
  const resolved: AudioPreprocess = {
    type: 'audio',
    sampleRate: positiveInteger(p['sampleRate'], `${name}.sampleRate`),
    channel: nonNegativeInteger(p['channel'], `${name}.channel`),
    resample: parseResampleOptions(p['resample'], `${name}.resample`),
    clipDuration: positiveNumber(p['clipDuration'], `${name}.clipDuration`),
    clipsPerInput: positiveInteger(p['clipsPerInput'], `${name}.clipsPerInput`),
    subtractMean: boolean(p['subtractMean'], `${name}.subtractMean`),
    fbank: parseFbankOptions(p['fbank'], `${name}.fbank`),
    targetLength: positiveInteger(p['targetLength'], `${name}.targetLength`),
    normalize: {
      mean: finiteNumber(normalize['mean'], `${name}.normalize.mean`),
      std: positiveNumber(normalize['std'], `${name}.normalize.std`),
    },
  };
  return resolved;
}
