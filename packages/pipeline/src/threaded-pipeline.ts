import { Worker } from 'node:worker_threads';
import type { EmbedOutput, GenerationHooks, GenerationJob, GenerationOutput, GenerationPipeline, PackDescription, PipelineInput, SoundEmbedding } from '@a2i/protocol';
import type { PipelineSpec } from './load-pipeline.js';
import type { WarmUpReport } from './onnx/warm-up.js';
import { PipelineError } from './pipeline-error.js';
import { serializeError, type FromPipelineThread, type ModelCallReport, type RowLimitReport, type ToPipelineThread } from './pipeline-thread-messages.js';

const THREAD_ENTRY = new URL('./pipeline-thread-entry.mjs', import.meta.url);

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
  hooks?: GenerationHooks;
}

/**
 * The main thread's handle on the pipeline thread: the same GenerationPipeline interface,
 * each call a message, aborts forwarded, progress and previews called back here. If the
 * thread dies, pending calls fail (as server faults, so BullMQ may retry them) and the next
 * call starts a fresh thread.
 */
export class ThreadedPipeline implements GenerationPipeline {
  private thread!: Worker;
  private description!: PackDescription;
  private ready: Promise<void>;
  private readonly pending = new Map<number, PendingCall>();
  private nextCallId = 1;
  private closing = false;
  /** Hears of every shared model call of continuous batching (the worker's metrics); a pipeline that shares none never calls it. */
  onModelCall: ((call: ModelCallReport) => void) | null = null;
  /** Hears when a stage's row limit changes: a shared call failed while its halves ran, or a whole call tried again ran (the worker logs it). */
  onRowLimit: ((limit: RowLimitReport) => void) | null = null;

  private constructor(private readonly spec: PipelineSpec) {
    this.ready = this.spawn();
  }

  /** Starts the thread and waits until the pipeline has loaded. */
  static async start(spec: PipelineSpec): Promise<ThreadedPipeline> {
    const host = new ThreadedPipeline(spec);
    await host.ready;
    return host;
  }

  describe(): PackDescription {
    return this.description;
  }

  async embed(inputs: PipelineInput[], signal?: AbortSignal): Promise<EmbedOutput> {
    return (await this.call((callId) => ({ type: 'embed', callId, inputs }), signal)) as EmbedOutput;
  }

  async embedSound(input: PipelineInput, windows: { windowSec: number; hopSec: number }, signal?: AbortSignal, onWindow?: (done: number, total: number) => void): Promise<SoundEmbedding> {
    // the thread reports windows as 'progress' of stage embed (pipeline-thread-messages.ts)
    const hooks: GenerationHooks = { signal: signal ?? new AbortController().signal, onProgress: (p) => onWindow?.(p.step, p.steps), onPreview: () => undefined };
    return (await this.call((callId) => ({ type: 'embed-sound', callId, input, windows }), signal, hooks)) as SoundEmbedding;
  }

  async generate(job: GenerationJob, hooks: GenerationHooks): Promise<GenerationOutput> {
    const augment = hooks.augmentCondition !== undefined;
    return (await this.call((callId) => ({ type: 'generate', callId, job, ...(augment ? { augment } : {}) }), hooks.signal, hooks)) as GenerationOutput;
  }

  /** Runs the pipeline's warm-up in its thread; null when the pipeline has none (synthetic). */
  async warmUp(): Promise<WarmUpReport | null> {
    return (await this.call((callId) => ({ type: 'warm-up', callId }))) as WarmUpReport | null;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.thread.terminate();
  }

  private async call(message: (callId: number) => ToPipelineThread, signal?: AbortSignal, hooks?: GenerationHooks): Promise<unknown> {
    signal?.throwIfAborted();
    await this.ready;
    const callId = this.nextCallId++;
    const thread = this.thread;
    return new Promise((resolve, reject) => {
      const onAbort = () => thread.postMessage({ type: 'abort', callId } satisfies ToPipelineThread);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = <T>(settle: (value: T) => void) => (value: T) => {
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(callId);
        settle(value);
      };
      const pending: PendingCall = { resolve: done(resolve), reject: done(reject) };
      if (hooks) pending.hooks = hooks;
      this.pending.set(callId, pending);
      thread.postMessage(message(callId));
    });
  }

  /** Runs the call's augmentCondition hook here (where the collection store is) and sends its answer back. */
  private answerAugment(thread: Worker, callId: number, query: Float32Array, hooks: GenerationHooks | undefined): void {
    const run = hooks?.augmentCondition ? hooks.augmentCondition(query) : Promise.resolve([]);
    run.then(
      (terms) => {
        const copies = terms.map((term) => ({ vector: Float32Array.from(term.vector), weight: term.weight }));
        thread.postMessage({ type: 'augmented', callId, terms: copies } satisfies ToPipelineThread, copies.map((term) => term.vector.buffer));
      },
      (error: unknown) => thread.postMessage({ type: 'augment-failed', callId, error: serializeError(error) } satisfies ToPipelineThread),
    );
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const thread = new Worker(THREAD_ENTRY, { workerData: this.spec });
      this.thread = thread;
      let loaded = false;
      thread.on('message', (message: FromPipelineThread) => {
        if (message.type === 'ready') {
          this.description = message.description;
          loaded = true;
          resolve();
          return;
        }
        if (message.type === 'init-error') {
          reject(new PipelineError(message.error));
          return;
        }
        if (message.type === 'model-call') {
          this.onModelCall?.(message.call);
          return;
        }
        if (message.type === 'row-limit') {
          this.onRowLimit?.(message.limit);
          return;
        }
        const pending = this.pending.get(message.callId);
        if (!pending) return;
        switch (message.type) {
          case 'progress':
            pending.hooks?.onProgress(message.progress);
            break;
          case 'preview':
            pending.hooks?.onPreview(message.preview);
            break;
          case 'augment':
            this.answerAugment(thread, message.callId, message.query, pending.hooks);
            break;
          case 'generated':
            pending.resolve(message.output);
            break;
          case 'embedded':
          case 'sound-embedded':
            pending.resolve(message.output);
            break;
          case 'warmed-up':
            pending.resolve(message.report);
            break;
          case 'error':
            pending.reject(new PipelineError(message.error));
            break;
        }
      });
      thread.on('error', (error) => {
        if (!loaded) reject(error);
      });
      thread.on('exit', (exitCode) => {
        const lost = new PipelineError({ name: 'PipelineThreadExit', message: `The pipeline thread exited (code ${exitCode})`, code: 'INTERNAL', fault: 'server' });
        for (const pending of this.pending.values()) pending.reject(lost);
        this.pending.clear();
        if (!loaded) reject(lost);
        else if (!this.closing) {
          this.ready = this.spawn();
          this.ready.catch(() => {}); // the next call sees the failure
        }
      });
    });
  }
}
