import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import type { GenerationPipeline } from '@a2i/protocol';
import { loadPipeline, type PipelineSpec } from './load-pipeline.js';
import { serializeError, type FromPipelineThread, type ToPipelineThread } from './pipeline-thread-messages.js';

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

let pipeline: GenerationPipeline;
try {
  pipeline = await loadPipeline(workerData as PipelineSpec);
  post({ type: 'ready', description: pipeline.describe() });
} catch (error) {
  post({ type: 'init-error', error: serializeError(error) });
  throw error;
}

const calls = new Map<number, AbortController>();

port.on('message', (message: ToPipelineThread) => {
  if (message.type === 'abort') {
    calls.get(message.callId)?.abort();
    return;
  }
  const controller = new AbortController();
  calls.set(message.callId, controller);
  const { callId } = message;
  const run = async () => {
    if (message.type === 'embed') {
      const output = await pipeline.embed(message.inputs, controller.signal);
      post({ type: 'embedded', callId, output });
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
    });
    const images = output.images.map((image) => ({ ...image, rgb: image.rgb.slice() }));
    post({ type: 'generated', callId, output: { images } }, images.map((image) => image.rgb.buffer));
  };
  run()
    .catch((error: unknown) => post({ type: 'error', callId, error: serializeError(error) }))
    .finally(() => calls.delete(callId));
});
