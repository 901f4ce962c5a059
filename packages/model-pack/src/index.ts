// @a2i/model-pack: the model-pack manifest (models/README.md, format imagebind-unclip-pack/1):
// its schema, a loader that resolves paths and defaults, and a checker that reports missing
// files, wrong checksums, ONNX graphs that do not match the manifest and spaces that do not
// fit together, each with a stable code.
export { PackError, isPackError, PACK_PROBLEM_CODES, type PackProblem, type PackProblemCode } from './pack-error.js';
export {
  PACK_FORMAT,
  ENCODER_MODALITIES,
  packManifestSchema,
  encoderSchema,
  decoderSchema,
  priorSchema,
  conditioningSchema,
  tensorSpecSchema,
  isInsidePack,
  promptEncoderSchema,
  promptSource,
  PROMPT_ENCODER_KEY,
  type PromptEncoderEntry,
  type PromptSource,
  type PackManifest,
  type EncoderEntry,
  type EncoderModality,
  type DecoderSection,
  type PriorSection,
  type ConditioningSection,
  type TensorSpecEntry,
} from './manifest-schema.js';
export { loadPack, readManifest, referencedFiles, manifestProblems, MANIFEST_FILE, type LoadedPack, type PackFileRef, type ManifestResult } from './load-pack.js';
export { resolvePackSettings, encoderKeyFor, type DecoderSettings, type PackSettings, type PriorMode } from './pack-settings.js';
export { checkPack, type CheckPackOptions, type PackReport } from './check-pack.js';
export { checkFiles, sha256File } from './check-files.js';
export { checkSpaces } from './check-spaces.js';
export { graphSignatures, compareSignature, type GraphSignature, type ExpectedTensor, type SessionLike } from './graph-signatures.js';
export { formatPackReport } from './format-report.js';
export { CUDA_ONLY_OPS, checkSessionOptions, providerOf, sessionFailureMessage } from './session-providers.js';
