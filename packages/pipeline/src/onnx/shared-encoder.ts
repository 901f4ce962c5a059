import type { Encoder, EncoderInput } from '@a2i/imagebind';

/**
 * Continuous batching of an ImageBind encoder (README "Continuous batching"): the inputs that
 * jobs hand to `run` in the same turn of the event loop (jobs admitted together reach their
 * embedding at once) go through one `run` of the wrapped encoder, which batches them in its
 * session calls; each caller gets back the embeddings of its own inputs. `runWithRaw` (an image
 * input in a pack with `conditioning`) is not shared: it goes straight through.
 */
export function sharedEncoder(encoder: Encoder): Encoder {
  let queue: Array<{ inputs: readonly EncoderInput[]; resolve(out: Float32Array[]): void; reject(error: unknown): void }> = [];
  const flush = () => {
    const batch = queue;
    queue = [];
    encoder.run(batch.flatMap((b) => b.inputs)).then(
      (embeddings) => {
        let at = 0;
        for (const b of batch) {
          b.resolve(embeddings.slice(at, at + b.inputs.length));
          at += b.inputs.length;
        }
      },
      // one caller's bad rows fail the shared run: each caller runs again on its own, so only that one fails
      () => batch.forEach((b) => encoder.run(b.inputs).then(b.resolve, b.reject)),
    );
  };
  return {
    modality: encoder.modality,
    space: encoder.space,
    dim: encoder.dim,
    rowShape: encoder.rowShape,
    run(inputs) {
      return new Promise((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({ inputs, resolve, reject });
      });
    },
    runWithRaw: (inputs) => encoder.runWithRaw(inputs),
    release: () => encoder.release(),
  };
}
