// Loading the torchaudio reference tensors written by models/recipes/reference_audio.py.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { npyToFloat32, parseNpy } from '@a2i/media';

import type { AudioPreprocess, KaldiFbankOptions, ResampleOptions } from '../../src/audio/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** Committed references made from this script's own inputs. */
export const DEMO_REFERENCE = join(ROOT, 'models/demo/reference/audio');
/** References of the real recordings (never committed; skipped when absent). */
export const REAL_REFERENCE = join(ROOT, '.cache/reference/real-samples/audio');

export interface SpanRef {
  start: number;
  end: number;
  startIndex: number;
  endIndex: number;
}
export interface CaseRef {
  name: string;
  input: string;
  sampleRate: number;
  shape: [number, number];
  wav?: string;
  resampled?: string;
  resampledShape?: [number, number];
  resampledLength: number;
  output: string;
  outputShape: [number, number, number, number];
  spans: SpanRef[];
}
export interface ReferenceIndex {
  preprocess: AudioPreprocess;
  cases: CaseRef[];
  fbank?: Array<{ name: string; input: string; inputSamples: number; sampleRate: number; options: KaldiFbankOptions; output: string; shape: [number, number] }>;
  resample?: Array<{ name: string; input: string; channel: number; inputSamples: number; origFreq: number; newFreq: number; options: ResampleOptions; output: string; length: number }>;
}

export function hasReference(dir: string): boolean {
  return existsSync(join(dir, 'index.json'));
}

export function readIndex(dir: string): ReferenceIndex {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as ReferenceIndex;
}

export function readNpy(dir: string, file: string): { data: Float32Array; shape: number[] } {
  // A copy into a plain Uint8Array: a Node Buffer's slice() is a view of a shared pool.
  const array = parseNpy(new Uint8Array(readFileSync(join(dir, file))));
  return { data: npyToFloat32(array), shape: array.shape };
}

/** A [C, N] .npy as one Float32Array per channel. */
export function readChannels(dir: string, file: string): Float32Array[] {
  const { data, shape } = readNpy(dir, file);
  const [c, n] = shape as [number, number];
  return Array.from({ length: c }, (_, i) => data.slice(i * n, (i + 1) * n));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
