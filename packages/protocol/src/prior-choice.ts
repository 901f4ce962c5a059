import type { PipelineInput } from './generation-job.js';

export type PriorRequest = 'on' | 'off' | 'auto';

/**
 * Whether the prior runs for a request (models/README.md, `prior.defaultFor`): "on" and "off"
 * say so; "auto" runs it when every input that counts (non-zero weight) is of a modality in
 * `defaultFor`, the query modalities whose embeddings the pack's decoder reads better through
 * the prior (e.g. text and audio, not images, whose embeddings are the decoder's own space).
 * Without a prior it never runs. "image" and the encoder key "vision" name the same modality.
 */
export function priorApplies(mode: PriorRequest, inputs: readonly { modality: PipelineInput['modality'] | string; weight: number }[], prior: { defaultFor?: readonly string[] | undefined } | null): boolean {
  if (!prior || mode === 'off') return false;
  if (mode === 'on') return true;
  // a pack that names no defaultFor runs its prior for every query
  if (!prior.defaultFor) return true;
  const defaultFor = prior.defaultFor;
  const counted = inputs.filter((input) => input.weight !== 0);
  const names = (modality: string) => (modality === 'image' ? ['image', 'vision'] : [modality]);
  return counted.length > 0 && counted.every((input) => names(input.modality).some((name) => defaultFor.includes(name)));
}
