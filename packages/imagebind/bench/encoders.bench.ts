/**
 * Encoder benchmark: each ImageBind encoder of a pack at batch 1 and 8 (rows of its input
 * shape: an audio input is 3 clip rows), latency per call and rows per second, medians of
 * several runs after a warm-up. Inputs are random (the cost does not depend on them).
 *
 *   npx tsx packages/imagebind/bench/encoders.bench.ts [--pack models/demo] [--runs 7] [--json PATH]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    pack: { type: 'string', default: resolve(here, '../../../models/demo') },
    runs: { type: 'string', default: '7' },
    json: { type: 'string' },
  },
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const manifestPath = join(args.pack, 'manifest.json');
if (!existsSync(manifestPath)) {
  const skipped = { skipped: `no manifest.json in ${args.pack}` };
  console.log(skipped.skipped);
  if (args.json) writeFileSync(args.json, `${JSON.stringify(skipped)}\n`);
  process.exit(0);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
  encoders: Record<string, { file?: string; input: { name: string; shape: number[]; dtype?: string }; output: { name: string } }>;
};
const runs = Number(args.runs);
const rows: Array<{ encoder: string; batch: number; msMedian: number; rowsPerSecond: number }> = [];
for (const [modality, enc] of Object.entries(manifest.encoders)) {
  if (!enc.file) continue; // video goes through the vision encoder
  const session = await ort.InferenceSession.create(join(args.pack, enc.file));
  const rowShape = enc.input.shape.slice(1);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  for (const batch of [1, 8]) {
    const feed = enc.input.dtype === 'int64'
      ? new ort.Tensor('int64', BigInt64Array.from({ length: batch * rowSize }, (_, i) => BigInt(i % rowSize < 8 ? 300 + i % 7 : 0)), [batch, ...rowShape])
      : new ort.Tensor('float32', Float32Array.from({ length: batch * rowSize }, () => Math.random() * 2 - 1), [batch, ...rowShape]);
    await session.run({ [enc.input.name]: feed }); // warm-up
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      await session.run({ [enc.input.name]: feed });
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    rows.push({ encoder: modality, batch, msMedian: ms, rowsPerSecond: (1000 * batch) / ms });
  }
  await session.release();
}
console.log(`encoders of ${args.pack} (median of ${runs} runs)`);
console.log('encoder   batch   ms/call   rows/s');
for (const r of rows) console.log(`${r.encoder.padEnd(9)} ${String(r.batch).padStart(5)} ${r.msMedian.toFixed(2).padStart(9)} ${r.rowsPerSecond.toFixed(0).padStart(8)}`);
if (args.json) writeFileSync(args.json, `${JSON.stringify({ pack: args.pack, runs, encoders: rows }, null, 2)}\n`);
