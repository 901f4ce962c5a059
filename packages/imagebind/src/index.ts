// @a2i/imagebind: everything between decoded media and ImageBind embeddings, driven by a
// model pack's manifest (models/README.md): modality preprocessing, the CLIP BPE tokenizer,
// ONNX encoder sessions and embedding arithmetic. The maths is pure; file and session I/O
// stay in ClipTokenizer.fromPack and createEncoder.
export { ImageBindError } from './imagebind-error.js';
export {
  parseImagePreprocess,
  parseImuPreprocess,
  parseVideoPreprocess,
  parseTextPreprocess,
  type ImagePreprocess,
  type ImuPreprocess,
  type VideoPreprocess,
  type TextPreprocess,
  type ClipBpeConfig,
} from './preprocess-config.js';

// image, depth, thermal
export { imageAsClip, imageToTensor, imagesToBatch, resizedSize, centerCropOffsets, type ImagePixels } from './vision/image-transform.js';
export { resizeBicubicPil, type PixelBuffer } from './vision/pil-resample.js';

// IMU
export { imuToTensor, resampleLinear, type ImuSignal } from './imu/imu-transform.js';

// video
export { videoFrameTimes, uniformTemporalIndices, type VideoFramePlan, type VideoClipFrames } from './video/frame-times.js';
export { videoViews, shortSideScaleSize, spatialCropOffset, type VideoViews, type VideoViewsOptions, type VideoFramePixels } from './video/video-views.js';
export { resizeBilinearTorch } from './video/bilinear-resize.js';

// text
export { ClipTokenizer, parseMerges, parseVocab, type TokenBatch } from './text/clip-tokenizer.js';
export { cleanText } from './text/clean-text.js';
export { htmlUnescape } from './text/html-unescape.js';
export { bytesToUnicode, byteVocabularyOrder } from './text/bytes-to-unicode.js';

// encoders
export { createEncoder, encoderFromSession, type Encoder, type EncoderInput, type EncoderOptions } from './encoder/encoder-session.js';
export { parseEncoderManifest, type EncoderManifest, type TensorSpec } from './encoder/encoder-manifest.js';
export { postprocessRows, averageGroups } from './encoder/encoder-session.js';

// embedding arithmetic and retrieval
export { combineEmbeddings, cosineSimilarity, topK, type WeightedEmbedding, type ScoredIndex } from './embedding/embedding-math.js';
export { decoderCondition, type DecoderConditionTerm } from './embedding/decoder-condition.js';
export { embeddingAtTime, slerp, smoothEmbeddings } from './embedding/embedding-path.js';

// audio (ImageBind's audio front end)
export * from './audio/index.js';
