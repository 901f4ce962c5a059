import { npArange, npLinspace, npRound } from './numpy-compat.js';
import type { TimestepSpacing } from './scheduler-config.js';

/**
 * Inference timesteps, descending, as DDPM / DDIM / PNDM / Euler set them
 * (diffusers scheduling_ddim.py `set_timesteps`; "Common Diffusion Noise Schedules and Sample
 * Steps are Flawed", Lin et al. 2023, Table 2):
 *  - linspace: round(linspace(0, T - 1, n)) reversed;
 *  - leading:  arange(n) * (T // n) reversed, plus stepsOffset;
 *  - trailing: round(arange(T, 0, -T / n)) - 1.
 * `roundLinspace` false keeps linspace's fractional values (Euler's float timesteps).
 */
export function spacedTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset: number,
  roundLinspace = true,
): number[] {
  const T = numTrainTimesteps;
  const n = numInferenceSteps;
  switch (spacing) {
    case 'linspace': {
      const values = npLinspace(0, T - 1, n).reverse();
      return roundLinspace ? values.map(npRound) : values.map(Math.fround);
    }
    case 'leading': {
      const ratio = Math.floor(T / n);
      const out: number[] = [];
      for (let i = n - 1; i >= 0; i--) out.push(i * ratio + stepsOffset);
      return out;
    }
    case 'trailing':
      return npArange(T, 0, -T / n).map((t) => npRound(t) - 1);
  }
}

/**
 * DPM-Solver's variant (scheduling_dpmsolver_multistep.py `set_timesteps`): linspace and
 * leading make n + 1 points and drop the last (t = 0); trailing is as above.
 * lambda_min_clipped is -inf here, so `last_timestep` is T.
 */
export function dpmSolverTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset: number,
): number[] {
  const T = numTrainTimesteps;
  const n = numInferenceSteps;
  switch (spacing) {
    case 'linspace':
      return npLinspace(0, T - 1, n + 1).map(npRound).reverse().slice(0, n);
    case 'leading': {
      const ratio = Math.floor(T / (n + 1));
      const out: number[] = [];
      for (let i = n; i >= 1; i--) out.push(i * ratio + stepsOffset);
      return out;
    }
    case 'trailing':
      return npArange(T, 0, -T / n).map((t) => npRound(t) - 1);
  }
}
