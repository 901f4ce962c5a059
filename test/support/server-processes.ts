import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const API_MAIN = fileURLToPath(new URL('../../apps/api/src/main.ts', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('../../apps/worker/src/main.ts', import.meta.url));

/** A server process a fault test starts, stops and kills (`tsx apps/<app>/src/main.ts`). */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
  readonly alive: () => boolean;
  /** With stdio 'pipe': everything the process wrote so far (stdout: its pino log; stderr). */
  readonly output: { stdout: string; stderr: string };
  /** Sends `signal` and waits for the exit, at most `timeoutMs` (then SIGKILL). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

/** 'pipe' captures stdout and stderr in `output` (a fault test counts log lines and stray errors). */
type Stdio = 'ignore' | 'inherit' | 'pipe';

function start(main: string, args: string[], env: Record<string, string>, stdio: Stdio): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', stdio, stdio === 'pipe' ? 'pipe' : 'inherit'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    exited,
    alive,
    output,
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (!alive()) return exited;
      child.kill(signal);
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** An api process (`A2I_PORT` in `env` says where it listens). */
export function startApiProcess(env: Record<string, string>, stdio: Stdio = 'ignore'): ServerProcess {
  return start(API_MAIN, [], env, stdio);
}

/** A worker process; `pipeline` is `synthetic`, `onnx` or a module path. */
export function startWorkerProcess(env: Record<string, string>, pipeline = 'synthetic', stdio: Stdio = 'ignore'): ServerProcess {
  return start(WORKER_MAIN, ['--pipeline', pipeline], env, stdio);
}
