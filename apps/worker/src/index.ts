export { startWorker, type RunningWorker } from './worker-app.js';
export { SyntheticPipeline, SyntheticInputError, type SyntheticPipelineOptions } from './synthetic-pipeline.js';
export { ThreadedPipeline } from './threaded-pipeline.js';
export { loadPipeline, type PipelineSpec } from './load-pipeline.js';
export { ProgressReporter, type ProgressUpdate } from './progress-reporter.js';
export { encodeImage, encodePreview, writeResults, resultPath, FORMAT_EXTENSIONS } from './image-encoding.js';
export { sweepExpired, startSweeper } from './result-sweeper.js';
