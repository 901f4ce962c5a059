import { inspectUpload, isMediaError, MediaError, UPLOAD_MODALITIES, type UploadModality } from '@a2i/media';
import type { PipelineInput, PipelineLimits } from '@a2i/protocol';

const isUploadModality = (modality: string): modality is UploadModality => (UPLOAD_MODALITIES as readonly string[]).includes(modality);

/**
 * Early refusal: each uploaded file is checked against its input's modality, from its headers
 * only (@a2i/media's inspectUpload, no decoding), before anything is queued. A file whose bytes
 * are no format that modality accepts (a text file sent as audio) is refused with 415
 * MEDIA_UNSUPPORTED_FORMAT; one whose header is over a limit (AUDIO_TOO_LONG, IMAGE_TOO_LARGE,
 * VIDEO_TOO_LONG, ...) or damaged is 422 with the decoder's code (statuses: the error registry,
 * `@a2i/protocol/errors`). Only what a full decode shows fails later, in the worker.
 *
 * `inputs` are the request's resolved inputs (so each file is bound to its modality) and
 * `limits` the ones the worker decodes with (pipelineLimitsOf), so both sides refuse alike.
 */
export async function refuseUndecodableUploads(inputs: readonly PipelineInput[], limits: PipelineLimits): Promise<void> {
  for (const [i, input] of inputs.entries()) {
    if (input.file === undefined || !isUploadModality(input.modality)) continue;
    try {
      await inspectUpload(input.file, input.modality, limits);
    } catch (error) {
      // Same code, the message says which input it was.
      if (isMediaError(error)) throw new MediaError(error.code, `inputs.${i}: ${error.message}`);
      throw error;
    }
  }
}
