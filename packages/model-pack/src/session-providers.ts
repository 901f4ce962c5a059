import type { InferenceSession } from 'onnxruntime-node';

/**
 * Fused ops that onnxruntime registers for its CUDA provider only (onnxruntime 1.30's kernel
 * registry has no CPU kernel for them): models/recipes/optimize_unclip_graphs.py --target gpu
 * writes them; its --target cpu does not.
 */
export const CUDA_ONLY_OPS: readonly string[] = ['NhwcConv', 'GroupNorm', 'SkipGroupNorm', 'BiasSplitGelu', 'BiasAdd'];

/**
 * onnxruntime's message for a session that would not open, with what to do when the cause is an
 * op only the CUDA provider runs (a graph optimized for a GPU, opened on the CPU provider).
 */
export function sessionFailureMessage(error: unknown, provider: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const op = /Could not find an implementation for (\w+)\(/.exec(message)?.[1];
  if (op === undefined || !CUDA_ONLY_OPS.includes(op) || provider === 'cuda') return message;
  return `${message} (${op} is one of the fused ops onnxruntime runs on CUDA only: a graph optimized for a GPU by optimize_unclip_graphs.py --target gpu opens with the CUDA provider, A2I_ORT_PROVIDER=cuda or --provider cuda; for the CPU, optimize with --target cpu)`;
}

/** The execution provider `options` name first ('cpu' when they name none). */
export function providerOf(options: InferenceSession.SessionOptions): string {
  const first = options.executionProviders?.[0];
  if (first === undefined) return 'cpu';
  return typeof first === 'string' ? first : first.name;
}

/**
 * Session options for the pack checks of the command-line tools (pack:check, verify-outputs):
 * one thread, no memory arena (the sessions are closed at once), on `provider` (cpu, or cuda
 * with onnxruntime-node's CUDA build: a graph optimized for a GPU opens there only).
 */
export function checkSessionOptions(provider: 'cpu' | 'cuda', deviceId = 0): InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId }] : ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    enableCpuMemArena: false,
  };
}
