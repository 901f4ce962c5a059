import type { PackProblem } from './pack-error.js';
import type { PackManifest } from './manifest-schema.js';

export type PriorMode = 'on' | 'off' | 'auto';

export interface DecoderSettings {
  scheduler: string;
  steps: number;
  guidanceScale: number;
  noiseLevel: number;
}

/** The sampling defaults and limits a pack declares, every field resolved. */
export interface PackSettings {
  /** null when the pack has no decoder (an encoders-only pack: it cannot generate). */
  decoder: DecoderSettings | null;
  /** null when the pack has no prior. */
  prior: { scheduler: string; steps: number; guidanceScale: number; defaultFor: string[] } | null;
  /** What a request's prior mode defaults to. */
  priorMode: PriorMode;
  limits: { maxSteps: number; maxImages: number };
  /** Highest Stable unCLIP noise level: noiseAugmentation.numTrainTimesteps - 1. */
  maxNoiseLevel: number;
}

export type SettingsResult = { ok: true; settings: PackSettings } | { ok: false; problems: PackProblem[] };

/**
 * Pack-wide `defaults` / `limits` first, then `decoder.defaults` / `decoder.limits` for what
 * they leave out (models/README.md puts them in the decoder; packs may also state them at the
 * top). Prior defaults come from `prior.defaults`; the prior's limits are the decoder's.
 */
export function resolvePackSettings(manifest: PackManifest): SettingsResult {
  const problems: PackProblem[] = [];
  const top = manifest.defaults ?? {};
  const hasDecoder = Boolean(manifest.decoder);
  const fromDecoder = manifest.decoder?.defaults;
  const pick = <K extends 'scheduler' | 'steps' | 'guidanceScale' | 'noiseLevel'>(key: K) => {
    const value = top[key] ?? fromDecoder?.[key];
    if (value === undefined && hasDecoder) problems.push({ code: 'PACK_MANIFEST_INVALID', where: `decoder.defaults.${key}`, message: `Expected decoder.defaults.${key} (or defaults.${key}) but received nothing` });
    return value;
  };
  const decoder = { scheduler: pick('scheduler'), steps: pick('steps'), guidanceScale: pick('guidanceScale'), noiseLevel: pick('noiseLevel') };
  const limitOf = (key: 'maxSteps' | 'maxImages') => {
    const value = manifest.limits?.[key] ?? manifest.decoder?.limits?.[key];
    if (value === undefined && hasDecoder) problems.push({ code: 'PACK_MANIFEST_INVALID', where: `decoder.limits.${key}`, message: `Expected decoder.limits.${key} (or limits.${key}) but received nothing` });
    return value;
  };
  const limits = { maxSteps: limitOf('maxSteps'), maxImages: limitOf('maxImages') };
  const maxNoiseLevel = manifest.decoder ? manifest.decoder.noiseAugmentation.numTrainTimesteps - 1 : 0;

  let prior: PackSettings['prior'] = null;
  if (manifest.prior) {
    const d = manifest.prior.defaults;
    if (!d) problems.push({ code: 'PACK_MANIFEST_INVALID', where: 'prior.defaults', message: 'Expected prior.defaults { scheduler, steps, guidanceScale } but received nothing' });
    else prior = { scheduler: d.scheduler, steps: d.steps, guidanceScale: d.guidanceScale, defaultFor: manifest.prior.defaultFor ?? [] };
    const unknown = (manifest.prior.defaultFor ?? []).filter((m) => !isQueryModality(m, manifest));
    if (unknown.length > 0) {
      problems.push({ code: 'PACK_MANIFEST_INVALID', where: 'prior.defaultFor', message: `Expected modalities of this pack in prior.defaultFor but received ${unknown.map((m) => JSON.stringify(m)).join(', ')}` });
    }
  }
  const priorMode: PriorMode = top.prior ?? 'auto';
  if (priorMode === 'on' && !manifest.prior) problems.push({ code: 'PACK_MANIFEST_INVALID', where: 'defaults.prior', message: 'Expected defaults.prior "off" or "auto" for a pack without a prior but received "on"' });
  if (decoder.noiseLevel !== undefined && decoder.noiseLevel > maxNoiseLevel) {
    problems.push({ code: 'PACK_MANIFEST_INVALID', where: 'decoder.defaults.noiseLevel', message: `Expected a default noise level of at most ${maxNoiseLevel} but received ${decoder.noiseLevel}` });
  }
  if (decoder.steps !== undefined && limits.maxSteps !== undefined && decoder.steps > limits.maxSteps) {
    problems.push({ code: 'PACK_MANIFEST_INVALID', where: 'decoder.defaults.steps', message: `Expected default steps of at most limits.maxSteps (${limits.maxSteps}) but received ${decoder.steps}` });
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    settings: {
      decoder: hasDecoder ? (decoder as DecoderSettings) : null,
      prior,
      priorMode,
      // an encoders-only pack samples nothing: its limits are moot
      limits: { maxSteps: limits.maxSteps ?? 0, maxImages: limits.maxImages ?? 0 },
      maxNoiseLevel,
    },
  };
}

/**
 * Request modality names (@a2i/protocol: image, text, audio, video, depth, thermal, imu,
 * embedding) against the pack's encoder keys: "image" is the `vision` encoder.
 */
export function encoderKeyFor(modality: string): string {
  return modality === 'image' ? 'vision' : modality;
}

function isQueryModality(modality: string, manifest: PackManifest): boolean {
  return modality === 'embedding' || encoderKeyFor(modality) in manifest.encoders;
}
