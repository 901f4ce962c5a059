import { isGuided, type EmbedOutput, type GenerationHooks, type GenerationJob, type GenerationOutput, type GenerationPipeline, type PackDescription, type PipelineInput, type SoundEmbedding } from '@a2i/protocol';
import type { PipelineSpec } from './load-pipeline.js';
import type { WarmUpReport } from './onnx/warm-up.js';
import type { ModelCallReport, RowLimitReport } from './pipeline-thread-messages.js';
import { ThreadedPipeline } from './threaded-pipeline.js';

/** What the pool needs of one instance (a ThreadedPipeline; tests give stand-ins). */
export type PipelineInstance = Pick<ThreadedPipeline, 'describe' | 'embed' | 'embedSound' | 'generate' | 'warmUp' | 'close' | 'onModelCall' | 'onRowLimit'>;

/**
 * Several instances of the pipeline, each in its own thread with its own sessions (A2I_PIPELINE_INSTANCES;
 * Triton's "instance group"), behind the one GenerationPipeline interface. Each call goes to the
 * instance with the least work in hand, and stays there: a generation's work is its model rows
 * times its decoder steps left (its progress tells them), an embedding counts one. The jobs an
 * instance holds share its model calls (continuous batching); two instances run two calls at once.
 *
 * Why: onnxruntime-node runs a session synchronously on its thread, so one pipeline thread runs one
 * model call at a time, and a small model's call does not fill two cores with intra-op threads
 * (the demo mix on 2 cores at saturation, `npx tsx test/bench/batching.bench.ts --rows 1,1@2,1x2
 * --loads backlog`: 1.15-1.17x with two threads, 1.75-1.86x as one job at a time on each of two
 * instances; README "Two instances"). A worker holding several jobs has independent calls to run
 * side by side.
 */
export class PipelinePool implements GenerationPipeline {
  private readonly work: number[];
  private modelCallListener: ((call: ModelCallReport) => void) | null = null;
  private rowLimitListener: ((limit: RowLimitReport) => void) | null = null;

  constructor(private readonly instances: readonly PipelineInstance[]) {
    if (instances.length === 0) throw new RangeError('Expected at least one pipeline instance');
    this.work = instances.map(() => 0);
  }

  /** Starts `count` instances of `spec`, each in its own thread, and waits until all have loaded. */
  static async start(spec: PipelineSpec, count: number): Promise<PipelinePool> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`Expected a positive integer of instances but received ${count}`);
    const started = await Promise.allSettled(Array.from({ length: count }, () => ThreadedPipeline.start(spec)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
      throw failed.reason;
    }
    return new PipelinePool(started.map((s) => (s as PromiseFulfilledResult<ThreadedPipeline>).value));
  }

  /** How many instances run calls. */
  get size(): number {
    return this.instances.length;
  }

  /** The work each instance has in hand now (model rows x decoder steps left, 1 an embedding). */
  workInHand(): number[] {
    return [...this.work];
  }

  describe(): PackDescription {
    return this.instances[0]!.describe();
  }

  embed(inputs: PipelineInput[], signal?: AbortSignal): Promise<EmbedOutput> {
    return this.onLeastBusy(1, (instance) => instance.embed(inputs, signal));
  }

  embedSound(input: PipelineInput, windows: { windowSec: number; hopSec: number }, signal?: AbortSignal, onWindow?: (done: number, total: number) => void): Promise<SoundEmbedding> {
    return this.onLeastBusy(1, (instance) => instance.embedSound(input, windows, signal, onWindow));
  }

  generate(job: GenerationJob, hooks: GenerationHooks): Promise<GenerationOutput> {
    const rows = modelRowsOf(job);
    const total = rows * job.options.steps;
    return this.onLeastBusy(total, (instance, setLeft) =>
      instance.generate(job, {
        ...hooks,
        onProgress: (progress) => {
          if (progress.stage === 'decode') setLeft(rows * Math.max(0, progress.steps - progress.step));
          hooks.onProgress(progress);
        },
      }),
    );
  }

  /** Warms every instance up (at once); the first one's report, null when the pipeline has no warm-up. */
  async warmUp(): Promise<WarmUpReport | null> {
    const reports = await Promise.all(this.instances.map((instance) => instance.warmUp()));
    return reports[0] ?? null;
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.close()));
  }

  /** Hears every instance's shared model calls. */
  get onModelCall(): ((call: ModelCallReport) => void) | null {
    return this.modelCallListener;
  }

  set onModelCall(listener: ((call: ModelCallReport) => void) | null) {
    this.modelCallListener = listener;
    for (const instance of this.instances) instance.onModelCall = listener;
  }

  /** Hears every instance's row limit changes. */
  get onRowLimit(): ((limit: RowLimitReport) => void) | null {
    return this.rowLimitListener;
  }

  set onRowLimit(listener: ((limit: RowLimitReport) => void) | null) {
    this.rowLimitListener = listener;
    for (const instance of this.instances) instance.onRowLimit = listener;
  }

  /** Runs `call` on the instance with the least work in hand (the first of equals), counting `work` there until it settles. */
  private async onLeastBusy<T>(work: number, call: (instance: PipelineInstance, setLeft: (left: number) => void) => Promise<T>): Promise<T> {
    const index = leastBusy(this.work);
    let held = work;
    let settled = false;
    this.work[index]! += held;
    const setLeft = (left: number) => {
      if (settled) return; // a late report changes nothing once the call's work is freed
      this.work[index]! += left - held;
      held = left;
    };
    try {
      return await call(this.instances[index]!, setLeft);
    } finally {
      settled = true;
      this.work[index]! -= held;
    }
  }
}

/** The index of the smallest value, the first of equals. */
export function leastBusy(work: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < work.length; i++) if (work[i]! < work[best]!) best = i;
  return best;
}

/** A generation's UNet rows per step: its images, twice under classifier-free guidance (isGuided). */
export function modelRowsOf(job: Pick<GenerationJob, 'options'>): number {
  return job.options.numImages * (isGuided(job.options.guidance) ? 2 : 1);
}
