/**
 * `npm run bench`: runs every benchmark as its own child process (one after another: the
 * machine has 2 shared cores), collects the JSON each writes (`--json PATH`), prints one
 * table and writes bench-results/bench.json (gitignored).
 *
 *   npm run bench [-- --only server,sampler] [--quick]
 *
 * Benchmarks are found, not listed: packages/<name>/bench/*.bench.ts, apps/<name>/bench/*.bench.ts
 * and test/bench/*.bench.ts. Each decides for itself what it can run and says what it
 * skipped (torchaudio absent, no demo pack, no Redis) in its JSON; a bench that exits non-zero
 * is reported as failed and makes this runner exit 1. `--quick` passes fewer runs to the
 * benches this runner knows (a smoke run, not numbers to publish).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT_DIR = join(ROOT, 'bench-results');
const BENCH_TIMEOUT_MS = 20 * 60_000;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});

interface SummaryRow {
  metric: string;
  value: number | string | null;
  unit: string;
}

interface BenchSpec {
  /** Short name: the file name without `.bench.ts`. */
  name: string;
  file: string;
  args: string[];
  /** Rows for the table, from the bench's JSON. */
  summarize(result: Record<string, unknown>): SummaryRow[];
  /** What this run will not measure, known before it runs. */
  notes(): string[];
}

const round = (x: unknown, digits = 2): number | null => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
const get = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);

/** Any bench that writes `summary: [{ metric, value, unit }]`, or else its top-level numbers. */
function genericSummary(result: Record<string, unknown>): SummaryRow[] {
  if (Array.isArray(result.summary)) return result.summary as SummaryRow[];
  return Object.entries(result)
    .filter(([, value]) => typeof value === 'number')
    .map(([metric, value]) => ({ metric, value: round(value, 3), unit: '' }));
}

/** What this runner knows about the benches it was written with. */
const KNOWN: Record<string, Pick<BenchSpec, 'summarize' | 'notes'> & { args: (quick: boolean) => string[] }> = {
  'audio-frontend': {
    args: (quick) => (quick ? ['--runs', '3', '--rounds', '1'] : []),
    notes: () => [],
    summarize: (r) => {
      const rows: SummaryRow[] = [
        { metric: 'TypeScript: decode + resample + fbank, 10 s 44.1 kHz stereo', value: round(get(r, 'typescriptMs.total')), unit: 'ms' },
        { metric: 'torchaudio: the same', value: round(get(r, 'torchaudio.ms.total')), unit: 'ms' },
        { metric: 'ratio TypeScript / torchaudio', value: round(r.ratio), unit: 'x' },
      ];
      return rows;
    },
  },
  sampler: {
    args: (quick) => (quick ? ['--runs', '2', '--steps', '10'] : []),
    notes: () =>
      existsSync(join(ROOT, 'models/demo/manifest.json'))
        ? []
        : ['demo pack absent (models/demo/manifest.json): timed on the tiny test graphs, which measures the loop, not the models'],
    summarize: (r) => [
      { metric: `decoder step (${String(get(r, 'pack'))})`, value: round(get(r, 'decoder.stepMsMedian'), 3), unit: 'ms/step' },
      { metric: 'decoder time outside session.run (target < 5 %)', value: round(100 * Number(get(r, 'decoder.outsideRunShareMedian')), 1), unit: '%' },
      { metric: 'VAE decode', value: round(get(r, 'decoder.vaeDecodeMsMedian')), unit: 'ms' },
      { metric: 'prior step', value: round(get(r, 'prior.stepMsMedian'), 3), unit: 'ms/step' },
      { metric: 'prior time outside session.run', value: round(100 * Number(get(r, 'prior.outsideRunShareMedian')), 1), unit: '%' },
    ],
  },
  'event-fanout': { args: (quick) => (quick ? ['--steps', '10'] : []), notes: () => [], summarize: genericSummary },
  storage: { args: (quick) => (quick ? ['--runs', '3'] : []), notes: () => [], summarize: genericSummary },
  // before = the api of a15b22a (positions read per job on every queue move, published at submit)
  connections: {
    args: (quick) => [...(quick ? ['--cycles', '1000', '--concurrent', '200', '--backlog', '60'] : []), '--before-rev', 'a15b22a'],
    notes: () => [],
    summarize: genericSummary,
  },
  server: {
    args: (quick) => (quick ? ['--runs', '2', '--jobs', '4'] : []),
    notes: () => [],
    summarize: genericSummary,
  },
  // 100,000 and 1,000,000 x 1024: about 12 of the 20 minutes a bench may take on 2 idle cores
  'search-scale': {
    args: (quick) => (quick ? ['--rows', '20000', '--queries', '10', '--http-rows', '20000', '--http-runs', '20'] : []),
    notes: () => [],
    summarize: genericSummary,
  },
  // demo-world retrieval / arithmetic / zero-shot through the HTTP API on the recipe's world and the
  // variant (an independent reading of demo-world.md), beside models/demo/report.json
  'search-quality': {
    args: (quick) => (quick ? ['--count', '100'] : ['--count', '600']),
    notes: () => [],
    summarize: genericSummary,
  },
  // issue #19: the default smoothing only in the full run (the sweep of the README's table is
  // `npx tsx test/bench/sound-to-video.bench.ts`, about 40 minutes on 2 shared cores)
  'sound-to-video': { args: (quick) => (quick ? ['--smoothing', '0.5', '--recordings', '2', '--object-every', '8'] : ['--smoothing', '0.5']), notes: () => [], summarize: genericSummary },
  'live-sound': { args: (quick) => (quick ? ['--seconds', '8'] : []), notes: () => [], summarize: genericSummary },
  // issue #15: the batch-size curve, a lone job, the share outside session.run, open-loop arrivals at 50/90/150 % for A2I_MAX_BATCH_ROWS 1, 8, 32
  batching: { args: (quick) => (quick ? ['--jobs', '12', '--loads', '90,150', '--rows', '1,8', '--lone-runs', '4'] : []), notes: () => [], summarize: genericSummary },
};

function discover(): BenchSpec[] {
  const dirs = [
    ...['packages', 'apps'].flatMap((top) =>
      existsSync(join(ROOT, top)) ? readdirSync(join(ROOT, top)).map((name) => join(ROOT, top, name, 'bench')) : [],
    ),
    join(ROOT, 'test/bench'),
  ];
  const files = dirs.filter((dir) => existsSync(dir)).flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).map((f) => join(dir, f)));
  return files.map((file) => {
    const name = basename(file, '.bench.ts');
    const known = KNOWN[name];
    return {
      name,
      file,
      args: known?.args(args.quick) ?? [],
      summarize: known?.summarize ?? genericSummary,
      notes: known?.notes ?? (() => []),
    };
  });
}

interface BenchOutcome {
  name: string;
  file: string;
  status: 'ok' | 'skipped' | 'failed';
  seconds: number;
  notes: string[];
  summary: SummaryRow[];
  result: Record<string, unknown> | null;
  error?: string;
}

/** Runs one bench file under tsx; resolves with its exit code and the tail of its output. */
function runChild(file: string, benchArgs: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...benchArgs], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      process.stdout.write(`    ${chunk.toString().replace(/\n(?=.)/g, '\n    ')}`);
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGTERM'), BENCH_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/** Notes a bench's own JSON carries about what it skipped. */
function skipNotes(result: Record<string, unknown>): string[] {
  const notes: string[] = [];
  if (typeof result.skipped === 'string') notes.push(result.skipped);
  if (Array.isArray(result.skippedSizes)) notes.push(...result.skippedSizes.map(String));
  const torch = get(result, 'torchaudio.skipped');
  if (typeof torch === 'string') notes.push(torch);
  if (typeof result.pipelineLabel === 'string' && result.pipeline === 'synthetic') notes.push(`pipeline: ${result.pipelineLabel}`);
  return notes;
}

async function runBench(spec: BenchSpec, scratch: string): Promise<BenchOutcome> {
  const jsonPath = join(scratch, `${spec.name}.json`);
  console.log(`\n> ${spec.name}: ${relative(ROOT, spec.file)} ${spec.args.join(' ')}`);
  const started = performance.now();
  const { code, output } = await runChild(spec.file, [...spec.args, '--json', jsonPath]);
  const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  const base = { name: spec.name, file: relative(ROOT, spec.file), seconds, notes: spec.notes() };
  if (code !== 0) {
    return { ...base, status: 'failed', summary: [], result: null, error: `exit ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}` };
  }
  if (!existsSync(jsonPath)) return { ...base, status: 'failed', summary: [], result: null, error: 'wrote no JSON' };
  const result = JSON.parse(await readFile(jsonPath, 'utf8')) as Record<string, unknown>;
  const notes = [...base.notes, ...skipNotes(result)];
  if (typeof result.skipped === 'string') return { ...base, notes, status: 'skipped', summary: [], result };
  return { ...base, notes, status: 'ok', summary: spec.summarize(result), result };
}

function printTable(outcomes: BenchOutcome[]): void {
  const rows: string[][] = [['bench', 'metric', 'value', 'unit']];
  for (const outcome of outcomes) {
    if (outcome.status !== 'ok') rows.push([outcome.name, outcome.status.toUpperCase(), '', '']);
    for (const row of outcome.summary) rows.push([outcome.name, row.metric, row.value === null ? '-' : String(row.value), row.unit]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ');
  console.log(`\n${line(rows[0]!).trimEnd()}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows.slice(1)) console.log(line(r).trimEnd());
  for (const outcome of outcomes) {
    for (const note of outcome.notes) console.log(`note (${outcome.name}): ${note}`);
    if (outcome.error) console.log(`error (${outcome.name}): ${outcome.error}`);
  }
}

async function main(): Promise<void> {
  const only = args.only?.split(',').map((s) => s.trim());
  const specs = discover().filter((spec) => !only || only.includes(spec.name));
  if (specs.length === 0) throw new Error(`Expected a bench name for --only but received ${args.only} (found: ${discover().map((s) => s.name).join(', ')})`);
  const scratch = join(tmpdir(), `a2i-bench-${process.pid}`);
  await mkdir(scratch, { recursive: true });
  await mkdir(OUT_DIR, { recursive: true });
  const startedAt = new Date().toISOString();
  const outcomes: BenchOutcome[] = [];
  try {
    for (const spec of specs) outcomes.push(await runBench(spec, scratch));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  printTable(outcomes);
  const report = {
    startedAt,
    quick: args.quick,
    node: process.version,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
    benches: outcomes,
  };
  const out = join(OUT_DIR, 'bench.json');
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${relative(ROOT, out)}`);
  if (outcomes.some((o) => o.status === 'failed')) process.exitCode = 1;
}

await main();
