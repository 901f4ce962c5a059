import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import { ERROR_CODES, embeddingJobSchema, type EmbeddingJob, type EmbeddingResult, type GenerationPipeline } from '@a2i/protocol';
import { removeUploadDir } from './upload-cleanup.js';

/**
 * The BullMQ processor of embedding jobs (POST /v1/embeddings): runs `pipeline.embed` and
 * returns the vectors as JSON. A failure's reason is "<CODE>: <message>" so the api can
 * answer with the code; nothing is retried (the client is waiting, and can retry itself).
 */
export function createEmbeddingProcessor(pipeline: GenerationPipeline, uploadsDir: string): Processor<EmbeddingJob, EmbeddingResult> {
  return async (job: Job<EmbeddingJob>, _token?: string, signal?: AbortSignal) => {
    const parsed = embeddingJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`${ERROR_CODES.INVALID_JOB}: The job data is not a valid embedding job`);
    try {
      const output = await pipeline.embed(parsed.data.inputs, signal);
      return { vectors: output.vectors.map((v) => Array.from(v)), combined: Array.from(output.combined) };
    } catch (error) {
      const { code, expose } = error as { code?: unknown; expose?: unknown };
      if (expose === true && typeof code === 'string') throw new UnrecoverableError(`${code}: ${(error as Error).message}`);
      throw new UnrecoverableError(`${ERROR_CODES.INTERNAL}: The embedding failed on the server`);
    } finally {
      await removeUploadDir(uploadsDir, parsed.data.uploadDir);
    }
  };
}
