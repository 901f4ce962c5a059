// @a2i/pipeline: the generation pipeline (shared/design.md), hosted by the worker (in a
// thread, apps/worker) and by the CLI's --local mode. It knows nothing of queues or HTTP.
export { loadPipeline, pipelineSpecOf, ONNX_PIPELINE, type PipelineSpec } from './load-pipeline.js';
export { SyntheticPipeline, SyntheticInputError, type SyntheticPipelineOptions } from './synthetic-pipeline.js';
export { encodeImage, encodePreview, writeResults, type DescribeImage } from './image-encoding.js';
export { withPngText, readPngText, textChunk, type PngText } from './image-encoding.js';
// The ONNX pipeline is loaded on demand by loadPipeline('onnx') (a synthetic worker never
// loads onnxruntime); import '@a2i/pipeline/onnx' for its parts.
export { ThreadedPipeline } from './threaded-pipeline.js';
export { PipelinePool, type PipelineInstance } from './pipeline-pool.js';
export type { ModelCallReport, RowLimitChange, RowLimitReport } from './pipeline-thread-messages.js';
export { PipelineError } from './pipeline-error.js';
// The ffmpeg the pipeline's decoders run (video, containers), for the host's start log.
export { describeFfmpeg, type FfmpegDescription } from '@a2i/media';
// A recording to a video (issue #19): where the sound is read and where the frames fall.
export { frameTimes, soundWindows, type SoundWindow, type SoundWindowOptions } from './video/sound-timeline.js';
export { meanAbsoluteFrameDifference } from './video/flicker.js';
export { soundFrameDirections, morphFrameDirections, type WindowEmbeddings } from './video/frame-conditions.js';
export { frameParts, type FramePart } from './video/frame-parts.js';
