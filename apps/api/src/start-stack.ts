import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { loadServerConfig, parseRedisTarget, redisAnswers } from '@a2i/protocol';
import { localApiUrl, seedDemoCollection } from './demo-collection.js';

/**
 * `npm start`: api + one worker on this machine, as one process tree.
 * 1. Redis: use the one at A2I_REDIS_URL; if none answers and the URL is local, start
 *    `redis-server` (when installed) as a child, without persistence; else stop and say how.
 * 2. Start the worker and the api as child processes (tsx), with the same environment.
 * 3. Ctrl-C / SIGTERM stops them all; if one dies, the others are stopped too.
 * 4. Beside the start (never in its way): the collection `demo` of the demo pack's samples,
 *    made once through the api when the workers serve the demo pack (A2I_SEED_DEMO_COLLECTION).
 */
const WORKER_MAIN = fileURLToPath(new URL('../../worker/src/main.ts', import.meta.url));
const API_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

const config = loadServerConfig();
const say = (message: string) => process.stderr.write(`[start] ${message}\n`);


async function startLocalRedis(url: URL): Promise<ChildProcess | null> {
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname);
  const installed = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!local || !installed) return null;
  const port = url.port || '6379';
  say(`no Redis answers at ${url.href}: starting redis-server on 127.0.0.1:${port} (no persistence)`);
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url.href)) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  return null;
}

const children: ChildProcess[] = [];
let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  const apps = children.filter((child) => child.spawnargs[0] !== 'redis-server');
  const redis = children.find((child) => child.spawnargs[0] === 'redis-server');
  for (const child of apps) if (child.exitCode === null) child.kill('SIGTERM');
  Promise.all(apps.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null))).then(() => {
    redis?.kill('SIGTERM');
    process.exit(code);
  });
}

if (!(await redisAnswers(config.redis.url))) {
  // a local redis-server stands in for one node only, never for a Cluster or Sentinel URL
  const redis = parseRedisTarget(config.redis.url).kind === 'node' ? await startLocalRedis(new URL(config.redis.url)) : null;
  if (!redis) {
    say(`No Redis answers at ${config.redis.url}, and none could be started here.`);
    say('Install one and run it: Debian/Ubuntu `apt-get install redis-server`, macOS `brew install redis && redis-server`,');
    say('or Docker `docker run -p 6379:6379 redis:7`; or point A2I_REDIS_URL at a running Redis.');
    process.exit(1);
  }
  children.push(redis);
}

for (const [name, main, args] of [
  ['worker', WORKER_MAIN, []],
  ['api', API_MAIN, []],
] as const) {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: 'inherit', env: process.env });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); stopping the others`);
    stopAll(code === 0 ? 1 : (code ?? 1));
  });
  children.push(child);
}
say(`starting: api on http://${config.http.host}:${config.http.port}, one worker (pipeline ${config.pipeline}); Ctrl-C stops everything`);

/** One line once the api answers /readyz 200 (a worker has its models loaded). */
async function announceReady(url: string): Promise<void> {
  for (;;) {
    if (stopping) return;
    const answer = await fetch(`${url}/readyz`).then(
      async (response) => (response.ok ? ((await response.json()) as { workers: number; pack: string }) : null),
      () => null,
    );
    if (answer) {
      process.stdout.write(`ready: ${url} (pack ${answer.pack}, ${answer.workers} worker${answer.workers === 1 ? '' : 's'})\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const seedApi = localApiUrl(config);
if (seedApi) void announceReady(seedApi);
if (!config.seedDemoCollection) {
  // off by choice: nothing to say
} else if (config.apiKeys.length > 0) {
  say('demo collection: not made (with A2I_API_KEYS set, a collection belongs to the key that makes it)');
} else if (!seedApi) {
  say('demo collection: not made (A2I_PORT=0: the api has no known address)');
} else {
  void seedDemoCollection({ api: seedApi, packDir: config.dirs.pack, say }).then((outcome) => {
    if (outcome !== 'failed' && !stopping) say(`demo collection: ${outcome}`);
  });
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
