import type { Logger } from 'pino';
import type { ThreadedPipeline } from '@a2i/pipeline';

/**
 * The worker's warm-up (A2I_WARM_UP): the pipeline runs each loaded session once in its
 * thread (packages/pipeline/src/onnx/warm-up.ts), timed here, before the worker takes a job or
 * sends its first heartbeat. @returns its milliseconds (at least 1), or null when the pipeline
 * has nothing to warm up (the synthetic stand-in). A failure stops the worker at start.
 */
export async function warmUpPipeline(pipeline: Pick<ThreadedPipeline, 'warmUp'>, logger: Logger): Promise<number | null> {
  const started = performance.now();
  const report = await pipeline.warmUp();
  if (report === null) {
    logger.info('warm-up skipped: the pipeline has none');
    return null;
  }
  const ms = Math.max(1, Math.round(performance.now() - started));
  logger.info({ warmUpMs: ms, encoders: report.encoders, steps: report.steps, prior: report.prior, previews: report.previews }, 'warm-up done');
  return ms;
}
