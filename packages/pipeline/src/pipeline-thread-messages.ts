import type { ConditionTerm, EmbedOutput, GenerationJob, GenerationOutput, PackDescription, PipelineInput, PreviewFrame, ProgressReport, SoundEmbedding } from '@a2i/protocol';
import { isCodedError, type ErrorCode, type Fault } from '@a2i/protocol/errors';
import type { RowLimitRecord } from '@a2i/unclip';
import type { WarmUpReport } from './onnx/warm-up.js';

/**
 * Messages between the worker's main thread (ThreadedPipeline) and the pipeline thread.
 * A generate call whose hooks have `augmentCondition` (retrieval-augmented generation) says so
 * with `augment`; the thread then asks for the extra terms once, with the query ('augment'),
 * and the main thread answers 'augmented' (or 'augment-failed', which fails the call with
 * that error's code and fault): the hook runs where the collection store is, in the main thread.
 * 'warm-up' runs the pipeline's warm-up, if it has one ('warmed-up' with its report, or null).
 * 'embed-sound' reads a sound in windows (embedSound): 'progress' (stage embed) after each batch
 * of windows, then 'sound-embedded'.
 */
export type ToPipelineThread =
  | { type: 'generate'; callId: number; job: GenerationJob; augment?: boolean }
  | { type: 'augmented'; callId: number; terms: ConditionTerm[] }
  | { type: 'augment-failed'; callId: number; error: SerializedError }
  | { type: 'embed'; callId: number; inputs: PipelineInput[] }
  | { type: 'embed-sound'; callId: number; input: PipelineInput; windows: { windowSec: number; hopSec: number } }
  | { type: 'warm-up'; callId: number }
  | { type: 'abort'; callId: number };

/** An error as it crosses the thread boundary: the coded-error contract's `code` and `fault`, when it follows it. */
export interface SerializedError {
  name: string;
  message: string;
  code?: ErrorCode;
  fault?: Fault;
}

/**
 * One shared model call of continuous batching (issue #15), as the pipeline thread reports it
 * for the worker's metrics: the stage ('prior' or 'decode': the UNet), the model rows and jobs
 * (seats) in it, its milliseconds inside session.run, and the rows a row cap left waiting for a
 * later call (A2I_SHARED_CALL_ROWS).
 */
export interface ModelCallReport {
  stage: 'prior' | 'decode';
  rows: number;
  seats: number;
  runMs: number;
  waitingRows: number;
}

/**
 * A stage's row limit changed (@a2i/unclip's RowLimitRecord): a shared call failed while its
 * parts ran, so the stage's calls hold at most `limit` rows from now on; or a call larger than
 * the limit, tried again, ran whole (`limit` null: no limit).
 */
export type RowLimitChange = RowLimitRecord;
/** A RowLimitChange of one stage ('decode' is the UNet). */
export type RowLimitReport = { stage: 'prior' | 'decode' | 'vae' } & RowLimitChange;

export type FromPipelineThread =
  | { type: 'ready'; description: PackDescription }
  | { type: 'model-call'; call: ModelCallReport }
  | { type: 'row-limit'; limit: RowLimitReport }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'progress'; callId: number; progress: ProgressReport }
  | { type: 'preview'; callId: number; preview: PreviewFrame }
  | { type: 'augment'; callId: number; query: Float32Array }
  | { type: 'generated'; callId: number; output: GenerationOutput }
  | { type: 'embedded'; callId: number; output: EmbedOutput }
  | { type: 'sound-embedded'; callId: number; output: SoundEmbedding }
  | { type: 'warmed-up'; callId: number; report: WarmUpReport | null }
  | { type: 'error'; callId: number; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const out: SerializedError = { name: error.name, message: error.message };
  if (isCodedError(error)) {
    out.code = error.code;
    out.fault = error.fault;
  }
  return out;
}
