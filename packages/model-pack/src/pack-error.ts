import { CodedError, type ErrorCode } from '@a2i/protocol/errors';

/**
 * Stable codes of the problems a model pack can have (models/README.md is the contract).
 *
 * - PACK_MANIFEST_MISSING: no manifest.json in the folder
 * - PACK_MANIFEST_INVALID: not JSON, or a field missing / of the wrong type / outside the pack folder
 * - PACK_FORMAT_UNKNOWN: `format` is not a format this code reads
 * - PACK_FILE_MISSING: a file the manifest names is not in the folder
 * - PACK_FILE_UNLISTED: a file a section names has no checksum in `files`
 * - PACK_CHECKSUM_MISMATCH: a file's sha256 differs from `files`
 * - PACK_SESSION_FAILED: onnxruntime could not open an ONNX file
 * - PACK_TENSOR_MISMATCH: an ONNX graph's input / output names or shapes differ from the manifest
 * - PACK_SPACE_MISMATCH: embedding spaces that do not fit together (encoder, decoder and prior dims)
 * - PACK_NO_DECODER: an encoders-only pack (valid for embedding) offered to a generation worker
 */
export const PACK_PROBLEM_CODES = [
  'PACK_MANIFEST_MISSING',
  'PACK_MANIFEST_INVALID',
  'PACK_FORMAT_UNKNOWN',
  'PACK_FILE_MISSING',
  'PACK_FILE_UNLISTED',
  'PACK_CHECKSUM_MISMATCH',
  'PACK_SESSION_FAILED',
  'PACK_TENSOR_MISMATCH',
  'PACK_SPACE_MISMATCH',
  'PACK_NO_DECODER',
] as const satisfies readonly ErrorCode[];
export type PackProblemCode = (typeof PACK_PROBLEM_CODES)[number];

/** One thing wrong with a pack; `where` names the manifest field or the pack file. */
export interface PackProblem {
  code: PackProblemCode;
  message: string;
  where: string;
}

/**
 * A pack that cannot be used. A broken pack is the operator's fault, never a client's: it
 * stops a worker at start, and every PACK_* code is a server fault in the registry
 * (`@a2i/protocol/errors`), so no client ever sees it as its own error.
 * `problems` holds every problem found; `code` is the first one's.
 */
export class PackError extends CodedError {
  override readonly name = 'PackError';
  declare readonly code: PackProblemCode;
  constructor(
    readonly dir: string,
    readonly problems: readonly PackProblem[],
  ) {
    super(problems[0]?.code ?? 'PACK_MANIFEST_INVALID', `The model pack ${dir} cannot be used: ${problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`);
  }
}

export function isPackError(error: unknown, code?: PackProblemCode): error is PackError {
  return error instanceof PackError && (code === undefined || error.problems.some((p) => p.code === code));
}
