import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import {
  ERROR_CODES,
  codeOf,
  embeddingJobSchema,
  isInputFault,
  jobFailureReason,
  serverFaultMessage,
  type EmbeddingJob,
  type EmbeddingResult,
  type GenerationPipeline,
} from '@a2i/protocol';
import type { ObjectStore } from '@a2i/storage';
import { localInputs } from './job-inputs.js';

/**
 * The BullMQ processor of embedding jobs (POST /v1/embeddings): runs `pipeline.embed` and
 * returns the vectors as JSON. A failure's reason is written by `jobFailureReason` so the api
 * can answer with the code: an input fault's own message, a server fault's generic one (the
 * details go to `logger`). Nothing is retried (the client is waiting, and can retry itself).
 * The job's files are read from `files.uploads` (job-inputs.ts), and removed once it is
 * completed or failed (upload-cleanup.ts).
 */
export function createEmbeddingProcessor(pipeline: GenerationPipeline, files: { uploads: ObjectStore; scratchDir: string }, logger?: Logger): Processor<EmbeddingJob, EmbeddingResult> {
  return async (job: Job<EmbeddingJob>, _token?: string, signal?: AbortSignal) => {
    const parsed = embeddingJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(jobFailureReason(ERROR_CODES.INVALID_JOB, 'The job data is not a valid embedding job'));
    try {
      const inputs = await localInputs(parsed.data.inputs, files.uploads, files.scratchDir, job.id ?? 'embed');
      const output = await pipeline.embed(inputs.items, signal).finally(() => inputs.release());
      return { vectors: output.vectors.map((v) => Array.from(v)), combined: Array.from(output.combined) };
    } catch (error) {
      if (isInputFault(error)) throw new UnrecoverableError(jobFailureReason(error.code, error.message));
      const code = codeOf(error);
      logger?.error({ err: error, code, jobId: job.id }, 'embedding failed');
      throw new UnrecoverableError(jobFailureReason(code, serverFaultMessage('compute the embeddings', code)));
    }
  };
}
