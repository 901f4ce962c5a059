import type { EmbedOutput, GenerationJob, GenerationOutput, PackDescription, PipelineInput, PreviewFrame, ProgressReport } from '@a2i/protocol';

/** Messages between the worker's main thread (ThreadedPipeline) and the pipeline thread. */
export type ToPipelineThread =
  | { type: 'generate'; callId: number; job: GenerationJob }
  | { type: 'embed'; callId: number; inputs: PipelineInput[] }
  | { type: 'abort'; callId: number };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  expose?: boolean;
}

export type FromPipelineThread =
  | { type: 'ready'; description: PackDescription }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'progress'; callId: number; progress: ProgressReport }
  | { type: 'preview'; callId: number; preview: PreviewFrame }
  | { type: 'generated'; callId: number; output: GenerationOutput }
  | { type: 'embedded'; callId: number; output: EmbedOutput }
  | { type: 'error'; callId: number; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, expose } = error as { code?: unknown; expose?: unknown };
  const out: SerializedError = { name: error.name, message: error.message };
  if (typeof code === 'string') out.code = code;
  if (expose === true) out.expose = true;
  return out;
}
