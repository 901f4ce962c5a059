import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import type { ConditionTerm, GenerationPipeline } from '@a2i/protocol';
import type { SharedCallRecord } from '@a2i/unclip';
import { PipelineError } from './pipeline-error.js';
import { loadPipeline, type PipelineSpec } from './load-pipeline.js';
import { serializeError, type FromPipelineThread, type ModelCallReport, type RowLimitChange, type RowLimitReport, type ToPipelineThread } from './pipeline-thread-messages.js';
import type { WarmUpReport } from './onnx/warm-up.js';

/**
 * The pipeline thread: loads the pipeline ONCE and serves generate/embed calls from the
 * worker's main thread. Model runs block this thread only, so BullMQ's lock renewal,
 * progress and cancel messages keep flowing on the main thread.
 */
const port = parentPort;
if (!port) throw new Error('pipeline-thread.ts must run in a worker thread');

function post(message: FromPipelineThread, transfer: TransferListItem[] = []): void {
  port!.postMessage(message, transfer);
}

/** A pipeline that shares its model calls between jobs (the ONNX pipeline with shareModelCalls) and tells of each. */
interface SharedCallSource {
  observeSharedCalls(listener: ((stage: ModelCallReport['stage'], record: Pick<SharedCallRecord, 'seatRows' | 'runMs' | 'waitingRows'>) => void) | null): void;
  observeRowLimits(listener: ((stage: RowLimitReport['stage'], record: RowLimitChange) => void) | null): void;
}
function sharesCalls(p: GenerationPipeline): p is GenerationPipeline & SharedCallSource {
  return typeof (p as { observeSharedCalls?: unknown }).observeSharedCalls === 'function';
}

let pipeline: GenerationPipeline;
try {
  pipeline = await loadPipeline(workerData as PipelineSpec);
  // every shared call, for the worker's metrics (a few dozen small messages a second at most)
  if (sharesCalls(pipeline)) {
    pipeline.observeSharedCalls((stage, record) =>
      post({ type: 'model-call', call: { stage, rows: record.seatRows.reduce((a, b) => a + b, 0), seats: record.seatRows.length, runMs: record.runMs, waitingRows: record.waitingRows } }),
    );
    pipeline.observeRowLimits((stage, record) => post({ type: 'row-limit', limit: { stage, ...record } }));
  }
  post({ type: 'ready', description: pipeline.describe() });
} catch (error) {
  post({ type: 'init-error', error: serializeError(error) });
  throw error;
}

/** A pipeline that can warm itself up (the ONNX pipeline: warm-up.ts); others have nothing to warm. */
function hasWarmUp(p: GenerationPipeline): p is GenerationPipeline & { warmUp(): Promise<WarmUpReport> } {
  return typeof (p as { warmUp?: unknown }).warmUp === 'function';
}

const calls = new Map<number, AbortController>();
/** Generate calls waiting for the main thread's condition terms (retrieval-augmented generation). */
const augmenting = new Map<number, { resolve(terms: ConditionTerm[]): void; reject(error: unknown): void }>();

/** Asks the main thread for the call's extra condition terms; an abort stops the wait. */
function askForTerms(callId: number, query: Float32Array, signal: AbortSignal): Promise<ConditionTerm[]> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      augmenting.delete(callId);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = <T>(fn: (value: T) => void) => (value: T) => {
      signal.removeEventListener('abort', onAbort);
      augmenting.delete(callId);
      fn(value);
    };
    augmenting.set(callId, { resolve: settle(resolve), reject: settle(reject) });
    const copy = query.slice();
    post({ type: 'augment', callId, query: copy }, [copy.buffer]);
  });
}

port.on('message', (message: ToPipelineThread) => {
  if (message.type === 'abort') {
    calls.get(message.callId)?.abort();
    return;
  }
  if (message.type === 'augmented') {
    augmenting.get(message.callId)?.resolve(message.terms);
    return;
  }
  if (message.type === 'augment-failed') {
    augmenting.get(message.callId)?.reject(new PipelineError(message.error));
    return;
  }
  const controller = new AbortController();
  calls.set(message.callId, controller);
  const { callId } = message;
  const run = async () => {
    if (message.type === 'warm-up') {
      post({ type: 'warmed-up', callId, report: hasWarmUp(pipeline) ? await pipeline.warmUp() : null });
      return;
    }
    if (message.type === 'embed') {
      const output = await pipeline.embed(message.inputs, controller.signal);
      post({ type: 'embedded', callId, output });
      return;
    }
    if (message.type === 'embed-sound') {
      if (!pipeline.embedSound) throw new PipelineError({ name: 'PipelineError', message: 'This pipeline cannot read a sound in windows', code: 'UNSUPPORTED_MODALITY', fault: 'input' });
      const output = await pipeline.embedSound(message.input, message.windows, controller.signal, (step, steps) => post({ type: 'progress', callId, progress: { stage: 'embed', step, steps } }));
      post({ type: 'sound-embedded', callId, output });
      return;
    }
    const output = await pipeline.generate(message.job, {
      signal: controller.signal,
      onProgress: (progress) => post({ type: 'progress', callId, progress }),
      onPreview: (preview) => {
        // A copy: the pipeline may reuse its buffer; the copy is moved, not cloned.
        const rgb = preview.rgb.slice();
        post({ type: 'preview', callId, preview: { ...preview, rgb } }, [rgb.buffer]);
      },
      ...(message.augment ? { augmentCondition: (query: Float32Array) => askForTerms(callId, query, controller.signal) } : {}),
    });
    const images = output.images.map((image) => ({ ...image, rgb: image.rgb.slice() }));
    post({ type: 'generated', callId, output: { images } }, images.map((image) => image.rgb.buffer));
  };
  run()
    .catch((error: unknown) => post({ type: 'error', callId, error: serializeError(error) }))
    .finally(() => calls.delete(callId));
});
