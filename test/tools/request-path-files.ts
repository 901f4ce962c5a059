/**
 * How many source files (apps/, packages/) one generation passes through, from an uploaded WAV
 * to the PNG it gets back: the api and a worker run in one process (the pipeline in its worker
 * thread) under V8 coverage, once with one request and once with two; a file is on the
 * request path when some function of it ran more often with the second request (start-up
 * work, the same in both runs, cancels out). Prints the count, then the files.
 *
 *   npx tsx test/tools/request-path-files.ts [--tree DIR]   (DIR: another checkout to measure)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);

async function runRequests(tree: string, requests: number): Promise<void> {
  const { loadServerConfig } = await import(join(tree, 'packages/protocol/src/index.ts'));
  const { createApp } = await import(join(tree, 'apps/api/src/index.ts'));
  const { startWorker } = await import(join(tree, 'apps/worker/src/index.ts'));
  const { default: pino } = await import('pino');
  const tmp = mkdtempSync(join(tmpdir(), 'a2i-path-'));
  const env = { ...process.env, A2I_REDIS_PREFIX: `a2i-path-${process.pid}`, A2I_UPLOADS_DIR: join(tmp, 'u'), A2I_RESULTS_DIR: join(tmp, 'r'), A2I_COLLECTIONS_URI: join(tmp, 'c'), A2I_PACK_DIR: join(tree, 'models/demo'), A2I_LOG_LEVEL: 'silent' };
  const config = loadServerConfig(env, tree);
  const logger = pino({ level: 'silent' });
  const worker = await startWorker({ config, logger });
  const api = await createApp({ config, logger });
  const url: string = await api.listen(0, '127.0.0.1');
  for (let i = 0; i < 200 && !(await fetch(`${url}/readyz`)).ok; i++) await new Promise((r) => setTimeout(r, 50));
  for (let n = 0; n < requests; n++) {
    const form = new FormData();
    form.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound' }], steps: 10, seed: 1 }));
    form.set('sound', new Blob([readFileSync(join(tree, 'models/demo/samples/sea-bell.wav'))]), 'sea-bell.wav');
    const created = (await (await fetch(`${url}/v1/generations`, { method: 'POST', body: form })).json()) as { id: string; token: string };
    const headers = { 'x-job-token': created.token };
    let status: { status: string; images?: Array<{ url: string }> };
    do {
      await new Promise((r) => setTimeout(r, 50));
      status = (await (await fetch(`${url}/v1/generations/${created.id}`, { headers })).json()) as typeof status;
    } while (!['succeeded', 'failed', 'canceled'].includes(status.status));
    const png = await fetch(`${url}${status.images![0]!.url}`, { headers });
    if (!png.ok) throw new Error(`request ${n}: ${status.status}, image ${png.status}`);
    await png.arrayBuffer();
  }
  await api.close();
  await worker.close();
  rmSync(tmp, { recursive: true, force: true });
}

/** Call counts of every non-top-level function, by source file relative to `tree`. */
function functionCounts(dir: string, tree: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const file of readdirSync(dir)) {
    const { result } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { result: Array<{ url: string; functions: Array<{ functionName: string; ranges: Array<{ startOffset: number; count: number }> }> }> };
    for (const script of result) {
      if (!script.url.startsWith(`file://${tree}/`) || script.url.includes('node_modules')) continue;
      const rel = script.url.slice(`file://${tree}/`.length).replace(/\?.*$/, ''); // tsx adds a per-run query
      if (!/^(apps|packages)\/[^/]+\/src\//.test(rel)) continue;
      const fns = out.get(rel) ?? new Map<string, number>();
      for (const fn of script.functions) {
        const range = fn.ranges[0]!;
        if (fn.functionName === '' && range.startOffset === 0) continue; // the module's top level
        const key = `${fn.functionName}@${range.startOffset}`;
        fns.set(key, (fns.get(key) ?? 0) + range.count);
      }
      out.set(rel, fns);
    }
  }
  return out;
}

if (process.env.A2I_PATH_REQUESTS) {
  await runRequests(process.env.A2I_PATH_TREE!, Number(process.env.A2I_PATH_REQUESTS));
  process.exit(0);
} else {
  const { values } = parseArgs({ options: { tree: { type: 'string' } } });
  const tree = resolve(values.tree ?? fileURLToPath(new URL('../../', import.meta.url)));
  const runs = [1, 2].map((requests) => {
    const dir = mkdtempSync(join(tmpdir(), `a2i-cov-${requests}-`));
    const run = spawnSync(process.execPath, ['--import', 'tsx', SELF], { cwd: tree, env: { ...process.env, A2I_PATH_TREE: tree, A2I_PATH_REQUESTS: String(requests), NODE_V8_COVERAGE: dir }, stdio: 'inherit' });
    if (run.status !== 0) throw new Error(`the ${requests}-request run failed (${run.status})`);
    return dir;
  });
  const [once, twice] = runs.map((dir) => functionCounts(dir, tree));
  const onPath = [...twice!].filter(([file, fns]) => [...fns].some(([key, count]) => count > (once!.get(file)?.get(key) ?? 0))).map(([file]) => file).sort();
  for (const dir of runs) rmSync(dir, { recursive: true, force: true });
  console.log(`${onPath.length} files on the request path (upload -> PNG)`);
  console.log(onPath.join('\n'));
}
