import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import { codeOf, isInputFault, jobFailureReason, liveJobSchema, serverFaultMessage, ERROR_CODES, type GenerationPipeline, type LiveJob, type LiveResult } from '@a2i/protocol';
import { encodePreview } from '@a2i/pipeline';
import { wavPcm16 } from '@a2i/media';

/**
 * The BullMQ processor of a live picture (apps/api live-painter.ts): the window's 16-bit PCM as a
 * WAV in this worker's scratch folder, one generation from it (the stream's fixed inputs and
 * options, the stream's seed), the picture as a small WebP in the return value (the api waits
 * for it through QueueEvents; nothing is stored). Never retried: the stream paints its newest
 * window next anyway. A failure's reason carries its code (jobFailureReason).
 */
export function createLiveProcessor(pipeline: GenerationPipeline, scratchDir: string, logger: Logger): Processor<LiveJob, LiveResult> {
  return async (job: Job<LiveJob>, _token?: string, signal?: AbortSignal) => {
    const parsed = liveJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(jobFailureReason(ERROR_CODES.INVALID_JOB, 'The job data is not a valid live picture'));
    const data = parsed.data;
    const pcm = Buffer.from(data.pcm, 'base64');
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.byteLength / 2));
    const wav = join(scratchDir, `.live-${job.id}-${randomBytes(4).toString('hex')}.wav`);
    try {
      await writeFile(wav, wavPcm16({ sampleRate: data.sampleRate, channels: [Float32Array.from(samples, (x) => x / 32768)] }));
      const output = await pipeline.generate(
        { id: job.id ?? data.streamId, createdAt: 0, inputs: [{ modality: 'audio', weight: data.soundWeight, file: wav }, ...data.inputs], options: data.options },
        { signal: signal ?? new AbortController().signal, onProgress: () => undefined, onPreview: () => undefined },
      );
      const image = output.images[0]!;
      const webp = await encodePreview(image.rgb, image.width, image.height);
      return { image: webp.toString('base64'), width: image.width, height: image.height };
    } catch (error) {
      if (isInputFault(error)) throw new UnrecoverableError(jobFailureReason(error.code, error.message));
      const code = codeOf(error);
      logger.error({ err: error, code, jobId: job.id }, 'live picture failed');
      throw new UnrecoverableError(jobFailureReason(code, serverFaultMessage('make the live picture', code)));
    } finally {
      await rm(wav, { force: true });
    }
  };
}
