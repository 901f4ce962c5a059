import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Held-out scenes of the demo world as files (models/recipes/world_scenes.py), written by the
 * system Python: numpy + scipy from Debian (python3-numpy python3-scipy), no torch.
 */
export const WORLD_PYTHON = process.env.A2I_WORLD_PYTHON ?? '/usr/bin/python3';
const WORLD_SCENES = fileURLToPath(new URL('../../models/recipes/world_scenes.py', import.meta.url));
/** The pack never saw seed 4 (training 1, evaluation 2, weight choice 3: world_scenes.py). */
export const HELD_OUT_SEED = 4;

/** null when WORLD_PYTHON can write scenes, else why not (for a visible skip). */
export function worldPythonMissing(): string | null {
  if (!existsSync(WORLD_PYTHON)) return `${WORLD_PYTHON} is missing (install python3 python3-numpy python3-scipy)`;
  const probe = spawnSync(WORLD_PYTHON, ['-c', 'import numpy, scipy'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status !== 0) return `${WORLD_PYTHON} has no numpy + scipy (install python3-numpy python3-scipy): ${probe.stderr.trim().split('\n').at(-1) ?? ''}`;
  return null;
}

/**
 * The generator that renders the scenes: `recipe` is world.py (the pack's training world),
 * `variant` world_variant.py (an independent reading of demo-world.md the pack never saw).
 */
export type DemoWorldGenerator = 'recipe' | 'variant';

/** Writes `count` scenes of seed `seed` to `dir` (scene files + index.json), at nice 10. */
export function writeDemoWorldScenes(dir: string, count: number, seed = HELD_OUT_SEED, world: DemoWorldGenerator = 'recipe'): void {
  const run = spawnSync('nice', ['-n', '10', WORLD_PYTHON, WORLD_SCENES, '--out', dir, '--count', String(count), '--seed', String(seed), '--world', world], {
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  if (run.status !== 0) throw new Error(`Expected world_scenes.py to exit 0 but received ${run.status ?? run.signal}: ${run.stderr.trim()}`);
}
