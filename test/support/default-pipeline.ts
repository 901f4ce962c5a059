import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ONNX_PIPELINE } from '@a2i/pipeline';

export interface PipelineChoice {
  /** Value for A2I_PIPELINE. */
  pipeline: string;
  packDir: string;
  /** For reports: what runs, and why. */
  label: string;
  synthetic: boolean;
}

/**
 * The pipeline a worker process runs by default (apps/worker/src/main.ts: A2I_PIPELINE, else
 * the real ONNX pipeline on A2I_PACK_DIR), for the browser test and the server benchmark.
 * Until the demo pack is built (no manifest.json) the default falls back to the synthetic
 * stand-in, and the label says so; an explicit A2I_PIPELINE is always taken as it is.
 */
export function defaultPipeline(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): PipelineChoice {
  const packDir = resolve(cwd, env.A2I_PACK_DIR || 'models/demo');
  const explicit = env.A2I_PIPELINE?.trim();
  const stepMs = env.A2I_SYNTHETIC_STEP_MS || '20';
  const syntheticLabel = (why: string) => `synthetic STAND-IN (no models: sleeps ${stepMs} ms per step; ${why})`;
  if (explicit) {
    return explicit === 'synthetic'
      ? { pipeline: explicit, packDir, synthetic: true, label: syntheticLabel('A2I_PIPELINE=synthetic') }
      : { pipeline: explicit, packDir, synthetic: false, label: `${explicit} on ${packDir}` };
  }
  if (existsSync(join(packDir, 'manifest.json'))) {
    return { pipeline: ONNX_PIPELINE, packDir, synthetic: false, label: `${ONNX_PIPELINE} on ${packDir}` };
  }
  return { pipeline: 'synthetic', packDir, synthetic: true, label: syntheticLabel(`${packDir} has no manifest.json yet`) };
}
