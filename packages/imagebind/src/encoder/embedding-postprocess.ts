/**
 * ImageBind's modality postprocessors (imagebind/models/imagebind_model.py
 * `_create_modality_postprocessors`, helpers.py `Normalize` + `LearnableLogitScaling`):
 * each row x -> scale * x / max(||x||_2, 1e-12) (torch.nn.functional.normalize's eps).
 *
 * @param rows [n, dim], changed in place
 */
export function postprocessRows(rows: Float32Array, dim: number, normalize: boolean, scale: number): Float32Array {
  const n = rows.length / dim;
  for (let r = 0; r < n; r++) {
    const o = r * dim;
    let factor = scale;
    if (normalize) {
      let sum = 0;
      for (let j = 0; j < dim; j++) sum += rows[o + j]! * rows[o + j]!;
      factor = scale / Math.max(Math.sqrt(sum), 1e-12);
    }
    for (let j = 0; j < dim; j++) rows[o + j] = rows[o + j]! * factor;
  }
  return rows;
}

/**
 * Mean over consecutive groups of rows (ImageBind averages the clips / views of one input
 * AFTER postprocessing: `reshape(B, S, -1).mean(dim=1)`).
 *
 * @param rows [sum(groups), dim]
 * @returns one Float32Array [dim] per group
 */
export function averageGroups(rows: Float32Array, dim: number, groups: readonly number[]): Float32Array[] {
  const out: Float32Array[] = [];
  let r = 0;
  for (const count of groups) {
    const mean = new Float32Array(dim);
    const acc = new Float64Array(dim);
    for (let k = 0; k < count; k++, r++) for (let j = 0; j < dim; j++) acc[j]! += rows[r * dim + j]!;
    for (let j = 0; j < dim; j++) mean[j] = acc[j]! / count;
    out.push(mean);
  }
  return out;
}
