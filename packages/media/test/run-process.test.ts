import { describe, expect, it } from 'vitest';
import { runProcess } from '../src/ffmpeg/run-process.js';

// `node -e` stands in for ffmpeg: a child that sleeps, prints, or logs, under our control.
const node = process.execPath;
const base = { what: 'child', timeoutMs: 20_000 };

describe('runProcess', () => {
  it('collects stdout, stderr and the exit code', async () => {
    const run = await runProcess(node, ['-e', 'process.stdout.write("out"); process.stderr.write("err\\n"); process.exit(3)'], base);
    expect([run.stdout.toString(), run.stderr, run.exitCode, run.stopped]).toEqual(['out', 'err\n', 3, false]);
  });

  it('kills a child that outlives its time limit (MEDIA_TIMEOUT)', async () => {
    await expect(runProcess(node, ['-e', 'setTimeout(() => {}, 30_000)'], { ...base, timeoutMs: 300 })).rejects.toMatchObject({ code: 'MEDIA_TIMEOUT' });
  });

  it('kills a child when the signal aborts (MEDIA_ABORTED)', async () => {
    const controller = new AbortController();
    const run = runProcess(node, ['-e', 'console.log("ready"); setTimeout(() => {}, 30_000)'], {
      ...base, signal: controller.signal,
      onStdout: () => { controller.abort(); },
    });
    await expect(run).rejects.toMatchObject({ code: 'MEDIA_ABORTED' });
  });

  it('ends a child whose output passes the limit, with the caller\'s error', async () => {
    const run = runProcess(node, ['-e', 'setInterval(() => process.stdout.write("x".repeat(65536)), 1)'], {
      ...base, maxStdoutBytes: 200_000, onStdoutLimit: () => new Error('too much'),
    });
    await expect(run).rejects.toThrow('too much');
  });

  it('stops early when a callback says so, and passes stderr line by line', async () => {
    const lines: string[] = [];
    const run = await runProcess(node, ['-e', 'process.stderr.write("a\\nb\\r\\nc\\n"); setTimeout(() => {}, 30_000)'], {
      ...base,
      onStderrLine: (line) => { lines.push(line); return line === 'c' ? 'stop' : undefined; },
    });
    expect(run.stopped).toBe(true);
    expect(lines).toEqual(['a', 'b', 'c']);
  });

  it('rejects with a plain Error (a server fault) when the program cannot start', async () => {
    const error = await runProcess('/nonexistent/ffmpeg', [], base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toHaveProperty('code', expect.stringMatching(/^MEDIA_/));
    expect((error as Error).message).toMatch(/Could not run child/);
  });
});
