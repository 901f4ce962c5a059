import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { MediaError } from '../media-error.js';

export interface RunOptions {
  /** Name used in messages ("ffmpeg", "ffprobe"). */
  what: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Receives stdout as it comes. Return 'stop' to end the process early (the run resolves
   * with `stopped: true`); throw to end it with that error. Without it, stdout is collected.
   */
  onStdout?: (chunk: Buffer) => void | 'stop';
  /** Receives each stderr line as it comes (same rules as onStdout). */
  onStderrLine?: (line: string) => void | 'stop';
  /** Collected stdout beyond this ends the process with `onStdoutLimit()`'s error. */
  maxStdoutBytes?: number;
  onStdoutLimit?: () => Error;
  /** Written to the process's stdin, with backpressure, then stdin is closed; absent: no stdin. */
  stdin?: AsyncIterable<Uint8Array>;
}

export interface RunResult {
  exitCode: number | null;
  stdout: Buffer;
  /** The last 64 KiB of stderr. */
  stderr: string;
  stopped: boolean;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Runs an executable with an argument array (never a shell), no stdin, a timeout and an
 * AbortSignal; either one kills it with SIGKILL and rejects with MEDIA_TIMEOUT / MEDIA_ABORTED.
 * A process that cannot start rejects with a plain Error (a server fault, not the input's).
 */
export function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new MediaError('MEDIA_ABORTED', `${options.what} was aborted before it started`));
      return;
    }
    const child = spawn(command, args, { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], windowsHide: true }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let pendingLine = '';
    let settled = false;
    let stopped = false;

    const finish = (error: Error | undefined, exitCode: number | null = null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(error);
      } else {
        resolve({ exitCode, stdout: Buffer.concat(stdoutChunks), stderr, stopped });
      }
    };
    const stop = (): void => {
      stopped = true;
      child.kill('SIGKILL');
    };
    const onAbort = (): void => finish(new MediaError('MEDIA_ABORTED', `${options.what} was aborted`));
    const timer = setTimeout(
      () => finish(new MediaError('MEDIA_TIMEOUT', `${options.what} took longer than ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      if (settled || stopped) return;
      try {
        if (options.onStdout) {
          if (options.onStdout(chunk) === 'stop') stop();
          return;
        }
        stdoutBytes += chunk.length;
        if (options.maxStdoutBytes !== undefined && stdoutBytes > options.maxStdoutBytes) {
          finish(options.onStdoutLimit?.() ?? new MediaError('MEDIA_TOO_LARGE', `${options.what} produced more output than allowed`));
          return;
        }
        stdoutChunks.push(chunk);
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (settled) return;
      stderr = (stderr + text).slice(-STDERR_KEEP);
      if (!options.onStderrLine || stopped) return;
      const lines = (pendingLine + text).split(/\r?\n|\r/);
      pendingLine = lines.pop() ?? '';
      try {
        for (const line of lines) {
          if (options.onStderrLine(line) === 'stop') { stop(); break; }
        }
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
    if (options.stdin && child.stdin) {
      const input = child.stdin;
      // EPIPE when the process stops reading (it failed): its exit code and stderr say why
      input.on('error', () => undefined);
      const feed = async () => {
        for await (const chunk of options.stdin!) {
          if (settled) return;
          if (!input.write(chunk)) await new Promise<void>((resolve) => { input.once('drain', resolve); input.once('close', resolve); });
        }
        input.end();
      };
      feed().catch((error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
    }
    child.on('error', (error) => finish(new Error(`Could not run ${options.what} (${command}): ${error.message}`)));
    child.on('close', (code) => {
      if (!settled && options.onStderrLine && pendingLine && !stopped) {
        try { options.onStderrLine(pendingLine); } catch (error) { finish(error instanceof Error ? error : new Error(String(error))); return; }
      }
      finish(undefined, code);
    });
  });
}

/**
 * The last non-empty stderr line, for error messages (ffmpeg puts the reason there), with the
 * temporary file's path replaced by "input" so no server path reaches a client.
 */
export function lastLine(stderr: string, path?: string, skip?: RegExp): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !(skip && skip.test(l)));
  const line = lines.at(-1) ?? 'no message';
  return path ? line.split(path).join('input') : line;
}
