/**
 * The samplers' schedulers, by the names requests, manifests and @a2i/unclip use: the one
 * list (`@a2i/protocol/scheduler-names`, no dependencies, so @a2i/unclip imports it too).
 */
export const SCHEDULER_NAMES = ['ddim', 'dpmsolver++', 'euler', 'pndm', 'ddpm'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export function isSchedulerName(value: unknown): value is SchedulerName {
  return typeof value === 'string' && (SCHEDULER_NAMES as readonly string[]).includes(value);
}
