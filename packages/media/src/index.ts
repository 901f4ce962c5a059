export { MediaError, isMediaError, type MediaErrorCode } from './media-error.js';
export { parseNpy, npyToFloat32, type NpyArray, type NpyDtype } from './npy.js';
export { assertFinite } from './finite.js';
export {
  DEFAULT_AUDIO_LIMITS, DEFAULT_IMAGE_LIMITS, DEFAULT_VIDEO_LIMITS, DEFAULT_IMU_LIMITS,
  type AudioLimits, type ImageLimits, type VideoLimits, type ImuLimits,
} from './limits.js';
export { sniffMediaType, describeSniffed, type MediaKind, type SniffResult } from './sniff.js';
export { decodeAudio, type DecodeAudioOptions } from './audio/decode-audio.js';
export type { DecodedAudio } from './audio/decoded-audio.js';
export { decodeImage, type DecodedImage, type DecodeImageOptions } from './image/decode-image.js';
export { probeVideo, type VideoInfo, type ProbeVideoOptions } from './video/probe-video.js';
export { decodeVideoFrames, type VideoFrame, type DecodeVideoFramesOptions } from './video/decode-video-frames.js';
export { encodeMp4, wavPcm16, type EncodeMp4Options, type Mp4Audio } from './video/encode-mp4.js';
export { parseImuCsv, parseImuNpy, IMU_CHANNELS, type ImuData } from './imu/parse-imu.js';
export {
  inspectUpload, refuseUndecodableUploads, UPLOAD_MODALITIES,
  type UploadModality, type UploadLimits, type UploadInspection, type InspectUploadOptions,
} from './upload/inspect-upload.js';
export { describeFfmpeg, ffmpegBinaries, NO_FFMPEG_MESSAGE, type FfmpegDescription } from './ffmpeg/binaries.js';
