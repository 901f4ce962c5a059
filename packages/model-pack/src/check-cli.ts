import { parseArgs } from 'node:util';
import { checkPack } from './check-pack.js';
import { formatPackReport } from './format-report.js';
import { checkSessionOptions } from './session-providers.js';

/**
 * `tsx packages/model-pack/src/check-cli.ts [--no-checksums] [--no-sessions] [--provider cpu|cuda] [--json] DIR`:
 * checks a model pack and prints the report; exit code 0 when the pack is usable, 1 when it
 * has problems, 2 on a usage error. `--provider cuda` opens the sessions on the GPU
 * (onnxruntime-node's CUDA build), where graphs optimized for a GPU open.
 */
const usage = 'Usage: check-cli.ts [--no-checksums] [--no-sessions] [--provider cpu|cuda] [--json] <pack folder>';
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      'no-checksums': { type: 'boolean' },
      'no-sessions': { type: 'boolean' },
      provider: { type: 'string', default: 'cpu' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${usage}\n`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (positionals.length !== 1) {
  process.stderr.write(`Expected one pack folder but received ${positionals.length}\n${usage}\n`);
  process.exit(2);
}
if (values.provider !== 'cpu' && values.provider !== 'cuda') {
  process.stderr.write(`Expected --provider to be cpu or cuda but received ${values.provider}\n${usage}\n`);
  process.exit(2);
}
const report = await checkPack(positionals[0]!, {
  verifyChecksums: !values['no-checksums'],
  openSessions: !values['no-sessions'],
  sessionOptions: checkSessionOptions(values.provider),
});
if (values.json) {
  const { manifest: _manifest, ...rest } = report;
  process.stdout.write(`${JSON.stringify(rest, null, 1)}\n`);
} else {
  process.stdout.write(formatPackReport(report));
}
process.exitCode = report.ok ? 0 : 1;
