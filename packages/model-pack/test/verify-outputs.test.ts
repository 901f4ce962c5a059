// verifyOutputs: an ONNX file against reference tensors saved as raw .bin files (the layout
// models/recipes/export_imagebind.py writes), on the committed tiny pack's vision encoder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyOutputs, type OutputCheckIndex, type OutputTolerance } from '../src/verify-outputs.js';
import { TINY_PACK } from './tiny-pack.js';

const dir = mkdtempSync(join(tmpdir(), 'a2i-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rows = 2;
// Scaled by 100, the tiny encoder's outputs reach about 1.5 (> 1: the relative bound grows).
const input = Float32Array.from({ length: rows * 3 * 16 * 16 }, (_, i) => 100 * Math.sin(i * 0.37));

/** The tiny vision encoder's own outputs on `input`: a reference that matches exactly. */
async function exactOutput(): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(join(TINY_PACK, 'encoders/vision.onnx'));
  const out = await session.run({ pixel_values: new ort.Tensor('float32', input, [rows, 3, 16, 16]) });
  await session.release();
  return Float32Array.from(out.embedding!.data as Float32Array);
}

function writeIndex(name: string, reference: Float32Array, tolerance: OutputCheckIndex['tolerance'], caseTolerance?: OutputTolerance): string {
  writeFileSync(join(dir, `${name}.in.bin`), Buffer.from(input.buffer));
  writeFileSync(join(dir, `${name}.out.bin`), Buffer.from(reference.buffer));
  const index: OutputCheckIndex = {
    tolerance,
    cases: [{
      modality: 'vision',
      file: 'encoders/vision.onnx',
      rowsPerInput: 2,
      inputs: { pixel_values: { path: `${name}.in.bin`, shape: [rows, 3, 16, 16], dtype: 'float32' } },
      outputs: { embedding: { path: `${name}.out.bin`, shape: [rows, reference.length / rows], dtype: 'float32' } },
      ...(caseTolerance ? { tolerance: caseTolerance } : {}),
    }],
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(index));
  return path;
}

describe('verifyOutputs', () => {
  it('passes a reference equal to the graph and times batch 1 and one input', async () => {
    const [result] = await verifyOutputs(TINY_PACK, writeIndex('exact', await exactOutput(), { absolute: 1e-6 }), { timedRuns: 1 });
    expect(result!.ok).toBe(true);
    expect(result!.maxAbsDiff).toBe(0);
    expect(result!.batch1Ms).toBeGreaterThan(0);
    expect(result!.perInput?.rows).toBe(2);
  });

  it('fails a reference off by more than the tolerance and reports the difference', async () => {
    const reference = await exactOutput();
    reference[3]! += 1e-3;
    const [result] = await verifyOutputs(TINY_PACK, writeIndex('off', reference, { absolute: 1e-4 }), { timedRuns: 1 });
    expect(result!.ok).toBe(false);
    expect(result!.maxAbsDiff).toBeCloseTo(1e-3, 6);
  });

  it('scales the bound by the largest reference value when relativeToMaxAbs is set', async () => {
    const reference = await exactOutput();
    const largest = Math.max(...Array.from(reference, Math.abs));
    expect(largest).toBeGreaterThan(1.3);
    reference[0]! += 1.2e-4; // over 1e-4, under 1e-4 * largest
    const [absolute] = await verifyOutputs(TINY_PACK, writeIndex('absolute', reference, { absolute: 1e-4 }), { timedRuns: 1 });
    const [relative] = await verifyOutputs(TINY_PACK, writeIndex('relative', reference, { absolute: 1e-4, relativeToMaxAbs: true }), { timedRuns: 1 });
    expect(absolute!.ok).toBe(false);
    expect(relative!.ok).toBe(true);
  });

  it("holds a case to its own tolerance when it has one (a float16 graph's wider bound), else to the index's", async () => {
    const reference = await exactOutput();
    reference[1]! += 5e-3;
    const [indexBound] = await verifyOutputs(TINY_PACK, writeIndex('index-bound', reference, { absolute: 1e-3 }), { timedRuns: 1 });
    const [caseBound] = await verifyOutputs(TINY_PACK, writeIndex('case-bound', reference, { absolute: 1e-3 }, { absolute: 1e-2 }), { timedRuns: 1 });
    const [tighter] = await verifyOutputs(TINY_PACK, writeIndex('case-tighter', reference, { absolute: 1e-2 }, { absolute: 1e-3 }), { timedRuns: 1 });
    expect([indexBound!.ok, indexBound!.bound]).toEqual([false, 1e-3]);
    expect([caseBound!.ok, caseBound!.bound]).toEqual([true, 1e-2]);
    expect([tighter!.ok, tighter!.bound]).toEqual([false, 1e-3]);
  });
});
