// What pack:check and the worker say when onnxruntime cannot open a graph: a graph optimized for
// a GPU (models/recipes/optimize_unclip_graphs.py --target gpu) has fused ops only CUDA runs.
import { describe, expect, it } from 'vitest';
import { checkSessionOptions, CUDA_ONLY_OPS, providerOf, sessionFailureMessage } from '../src/index.js';

const missing = (op: string) => new Error(`Could not find an implementation for ${op}(1) node with name '${op}_0'`);

describe('sessionFailureMessage', () => {
  it('adds what to do when a CUDA-only fused op meets the CPU provider', () => {
    for (const op of CUDA_ONLY_OPS) {
      const message = sessionFailureMessage(missing(op), 'cpu');
      expect(message.startsWith(missing(op).message)).toBe(true);
      expect(message).toContain(`${op} is one of the fused ops onnxruntime runs on CUDA only`);
      expect(message).toContain('--target cpu');
    }
  });

  it("keeps onnxruntime's message as it is for other ops, other errors and the CUDA provider", () => {
    expect(sessionFailureMessage(missing('Conv'), 'cpu')).toBe(missing('Conv').message);
    expect(sessionFailureMessage(missing('NhwcConv'), 'cuda')).toBe(missing('NhwcConv').message);
    expect(sessionFailureMessage(new Error('Protobuf parsing failed'), 'cpu')).toBe('Protobuf parsing failed');
    expect(sessionFailureMessage('not an Error', 'cpu')).toBe('not an Error');
  });
});

describe('checkSessionOptions and providerOf', () => {
  it('names the provider the checks open their sessions on, one thread, no arena', () => {
    expect(checkSessionOptions('cpu')).toEqual({ executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, enableCpuMemArena: false });
    expect(checkSessionOptions('cuda', 1).executionProviders).toEqual([{ name: 'cuda', deviceId: 1 }]);
    expect(providerOf(checkSessionOptions('cuda'))).toBe('cuda');
    expect(providerOf(checkSessionOptions('cpu'))).toBe('cpu');
    expect(providerOf({})).toBe('cpu');
  });
});
