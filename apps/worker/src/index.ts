export { startWorker, type RunningWorker } from './worker-app.js';
export { SyntheticPipeline, SyntheticInputError, type SyntheticPipelineOptions } from './synthetic-pipeline.js';
export { ThreadedPipeline } from './threaded-pipeline.js';
export { loadPipeline, ONNX_PIPELINE, type PipelineSpec } from './load-pipeline.js';
// The ONNX pipeline is loaded on demand (loadPipeline 'onnx'); import './onnx-pipeline/index.js' for its API.
export { runtimeConfigFromEnv, type OnnxRuntimeConfig } from './onnx-pipeline/runtime-config.js';
export { ProgressReporter, type ProgressUpdate } from './progress-reporter.js';
export { encodeImage, encodePreview, writeResults } from './image-encoding.js';
export { sweepExpired, startSweeper } from './result-sweeper.js';
