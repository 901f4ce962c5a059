import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyOutputs, type OutputCheckResult } from './verify-outputs.js';

/**
 * `tsx packages/model-pack/src/verify-outputs-cli.ts [--index FILE] [--runs N] [--provider cpu|cuda] DIR`: runs a
 * pack's ONNX files in onnxruntime-node on the reference tensors a recipe saved (default
 * DIR/reference/onnx/index.json, as export_imagebind.py writes it), prints per file the max abs
 * difference from the framework's outputs and the latency of batch 1 and of one input's rows
 * (audio: its clips); exit 0 when every file is
 * within tolerance, 1 otherwise, 2 on a usage error.
 */
const usage = 'Usage: verify-outputs-cli.ts [--index FILE] [--runs N] [--provider cpu|cuda] <pack folder>';
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { index: { type: 'string' }, runs: { type: 'string' }, provider: { type: 'string', default: 'cpu' }, help: { type: 'boolean', short: 'h' } },
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${usage}\n`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help || positionals.length !== 1) {
  (values.help ? process.stdout : process.stderr).write(`${usage}\n`);
  process.exit(values.help ? 0 : 2);
}
const runs = values.runs === undefined ? 3 : Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`Expected --runs to be a positive integer but received ${values.runs}\n`);
  process.exit(2);
}
if (values.provider !== 'cpu' && values.provider !== 'cuda') {
  process.stderr.write(`Expected --provider to be cpu or cuda but received ${values.provider}\n`);
  process.exit(2);
}
// cpu: onnxruntime's defaults (every core, the memory arena), as the timings have always been taken
const providerOptions = values.provider === 'cuda' ? { executionProviders: [{ name: 'cuda', deviceId: 0 }] } : {};
const pack = positionals[0]!;
const row = (r: OutputCheckResult) =>
  [
    r.modality.padEnd(8),
    (r.bytes === undefined ? '' : `${(r.bytes / 1e6).toFixed(1)} MB`).padStart(10),
    (r.exportSeconds === undefined ? '' : `${r.exportSeconds.toFixed(0)} s`).padStart(7),
    `${r.loadMs.toFixed(0)} ms`.padStart(9),
    `${r.batch1Ms.toFixed(1)} ms`.padStart(11),
    (r.perInput ? `${r.perInput.ms.toFixed(1)} ms (${r.perInput.rows} rows)` : '').padStart(19),
    r.maxAbsDiff.toExponential(2).padStart(10),
    `<= ${r.bound.toExponential(1)}`.padStart(10),
    r.maxAbsReference.toExponential(2).padStart(10),
    r.ok ? 'ok' : 'FAILED',
  ].join('  ');
process.stdout.write(`${['modality', 'size'.padStart(10), 'export'.padStart(7), 'load'.padStart(9), 'batch 1'.padStart(11), 'one input'.padStart(19), 'max |diff|'.padStart(10), 'bound'.padStart(10), 'max |ref|'.padStart(10), ''].join('  ')}\n`);
const results = await verifyOutputs(pack, values.index ?? join(pack, 'reference', 'onnx', 'index.json'), {
  timedRuns: runs,
  sessionOptions: providerOptions,
  onResult: (r) => process.stdout.write(`${row(r)}\n`),
});
const failed = results.filter((r) => !r.ok);
process.stdout.write(failed.length === 0 ? `OK: ${results.length} ONNX file(s) match the reference\n` : `FAILED: ${failed.map((r) => r.modality).join(', ')}\n`);
process.exitCode = failed.length === 0 ? 0 : 1;
