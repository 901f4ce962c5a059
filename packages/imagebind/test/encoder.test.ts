import { describe, expect, it } from 'vitest';
import { averageGroups, createEncoder, ImageBindError, postprocessRows, type EncoderManifest } from '../src/index.js';
import { FIXTURES } from './helpers.js';

// Fixtures from test/fixtures/make_tiny_encoders.py:
// tiny_float.onnx: pixels [-1, 2, 3] -> flatten -> x W, W[i][j] = (i + 1) * (j - 1.5) / 10, W [6, 4]
// tiny_int64.onnx: tokens [-1, 5] -> float -> x V, V = [I3; 0; 0.5 0.5 0.5]
const W = Array.from({ length: 6 }, (_, i) => Array.from({ length: 4 }, (_, j) => ((i + 1) * (j - 1.5)) / 10));
const matmul = (x: number[]) => [0, 1, 2, 3].map((j) => x.reduce((s, v, i) => s + v * W[i]![j]!, 0));
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

const floatManifest: EncoderManifest = {
  file: 'tiny_float.onnx',
  input: { name: 'pixels', shape: [-1, 2, 3], dtype: 'float32' },
  output: { name: 'embedding', shape: [-1, 4], dtype: 'float32' },
  space: 'imagebind',
  postprocess: { normalize: true, scale: 5 },
};
const intManifest: EncoderManifest = {
  file: 'tiny_int64.onnx',
  input: { name: 'tokens', shape: [-1, 5], dtype: 'int64' },
  output: { name: 'embedding', shape: [-1, 3], dtype: 'float32' },
  space: 'imagebind',
  postprocess: { normalize: false, scale: 2 },
};

describe('createEncoder', () => {
  it('runs a batch, L2-normalises and scales each row, one vector per input', async () => {
    const enc = await createEncoder(FIXTURES, 'vision', floatManifest);
    expect(enc.dim).toBe(4);
    expect(enc.rowShape).toEqual([2, 3]);
    const a = [1, 2, 3, 4, 5, 6];
    const b = [0, -1, 0, 2, 0, 1];
    const [ea, eb] = await enc.run([{ data: Float32Array.from(a) }, { data: Float32Array.from(b), rows: 1 }]);
    unit(matmul(a)).forEach((v, j) => expect(ea![j]).toBeCloseTo(5 * v, 5));
    unit(matmul(b)).forEach((v, j) => expect(eb![j]).toBeCloseTo(5 * v, 5));
    await enc.release();
  });
  it('averages the rows of one input AFTER postprocess (ImageBind order), in any batch split', async () => {
    const rows = [
      [1, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 9], // a much longer raw embedding: it must not dominate
    ];
    const expected = [0, 1, 2, 3].map((j) => (5 * unit(matmul(rows[0]!))[j]! + 5 * unit(matmul(rows[1]!))[j]!) / 2);
    for (const maxBatchRows of [undefined, 1]) {
      const enc = await createEncoder(FIXTURES, 'audio', floatManifest, maxBatchRows ? { maxBatchRows } : {});
      const [e] = await enc.run([{ data: Float32Array.from(rows.flat()), rows: 2 }]);
      expected.forEach((v, j) => expect(e![j]).toBeCloseTo(v, 5));
      await enc.release();
    }
  });
  it('runWithRaw: the same embeddings as run, and each input\'s raw rows averaged before the postprocess', async () => {
    const rows = [
      [1, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 9],
    ];
    const single = [1, 2, 3, 4, 5, 6];
    for (const maxBatchRows of [undefined, 1]) {
      const enc = await createEncoder(FIXTURES, 'vision', floatManifest, maxBatchRows ? { maxBatchRows } : {});
      const inputs = [{ data: Float32Array.from(rows.flat()), rows: 2 }, { data: Float32Array.from(single) }];
      const { embeddings, raw } = await enc.runWithRaw(inputs);
      expect(embeddings.map((e) => Array.from(e))).toEqual((await enc.run(inputs)).map((e) => Array.from(e)));
      // the graph's output as it is (no normalise, no x5): the mean of raw rows, then the single row
      [0, 1, 2, 3].forEach((j) => expect(raw[0]![j]).toBeCloseTo((matmul(rows[0]!)[j]! + matmul(rows[1]!)[j]!) / 2, 5));
      matmul(single).forEach((v, j) => expect(raw[1]![j]).toBeCloseTo(v, 5));
      expect(Math.hypot(...raw[1]!)).toBeCloseTo(20.348, 3); // ||x W|| of that row, where the postprocess gives 5
      await enc.release();
    }
  });
  it('feeds int64 token ids and fetches only the named output', async () => {
    const enc = await createEncoder(FIXTURES, 'text', intManifest, { sessionOptions: { intraOpNumThreads: 1 } });
    const [e] = await enc.run([{ data: BigInt64Array.from([1n, 2n, 3n, 0n, 4n]) }]);
    expect(Array.from(e!)).toEqual([2 * (1 + 2), 2 * (2 + 2), 2 * (3 + 2)]);
    expect(await enc.run([])).toEqual([]);
    await enc.release();
  });
  it('refuses inputs of the wrong type or size with ENCODER_INPUT_MISMATCH', async () => {
    const enc = await createEncoder(FIXTURES, 'vision', floatManifest);
    await expect(enc.run([{ data: new Float32Array(5) }])).rejects.toMatchObject({ code: 'ENCODER_INPUT_MISMATCH' });
    await expect(enc.run([{ data: new Float32Array(12), rows: 1 }])).rejects.toMatchObject({ code: 'ENCODER_INPUT_MISMATCH' });
    await expect(enc.run([{ data: new BigInt64Array(6) }])).rejects.toMatchObject({ code: 'ENCODER_INPUT_MISMATCH' });
    await enc.release();
  });
  it('refuses a manifest that does not fit the graph, and a missing file', async () => {
    const wrongName = { ...floatManifest, input: { ...floatManifest.input, name: 'image' } };
    await expect(createEncoder(FIXTURES, 'vision', wrongName)).rejects.toThrow('Expected an input named "image" in tiny_float.onnx');
    const wrongDim = { ...floatManifest, output: { ...floatManifest.output, shape: [-1, 8] } };
    const enc = await createEncoder(FIXTURES, 'vision', wrongDim);
    await expect(enc.run([{ data: new Float32Array(6) }])).rejects.toMatchObject({ code: 'ENCODER_OUTPUT_MISMATCH' });
    await enc.release();
    await expect(createEncoder(FIXTURES, 'vision', { ...floatManifest, file: 'missing.onnx' })).rejects.toMatchObject({ code: 'ENCODER_LOAD_FAILED' });
    await expect(createEncoder(FIXTURES, 'vision', { ...floatManifest, postprocess: { normalize: true, scale: 0 } })).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
    await expect(createEncoder(FIXTURES, 'vision', { ...floatManifest, input: { ...floatManifest.input, shape: [2, 3] } })).rejects.toThrow('encoders.vision.input.shape');
  });
  it('points video at the encoder its frames go through (ENCODER_NO_FILE)', async () => {
    const { file: _file, ...rest } = floatManifest;
    const err = await createEncoder(FIXTURES, 'video', { ...rest, encoder: 'vision' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBindError);
    expect(err).toMatchObject({ code: 'ENCODER_NO_FILE', fault: 'server' });
    expect((err as Error).message).toContain('"vision" encoder');
  });
});

describe('postprocess maths', () => {
  it('normalises rows to norm `scale`, and leaves them unnormalised when told', () => {
    expect(Array.from(postprocessRows(Float32Array.from([3, 4, 0, 0, 0, 2]), 3, true, 10))).toEqual([6, 8, 0, 0, 0, 10]);
    expect(Array.from(postprocessRows(Float32Array.from([3, 4]), 2, false, 0.5))).toEqual([1.5, 2]);
    expect(Array.from(postprocessRows(new Float32Array(2), 2, true, 1))).toEqual([0, 0]); // eps 1e-12: no NaN
  });
  it('averages consecutive groups of rows', () => {
    const out = averageGroups(Float32Array.from([1, 2, 3, 4, 10, 20]), 2, [2, 1]);
    expect(out.map((v) => Array.from(v))).toEqual([[2, 3], [10, 20]]);
  });
});
