import { decodeAudio, decodeImage, MediaError, parseImuCsv, parseImuNpy, probeVideo, type UploadLimits, type UploadModality } from '../../src/index.js';

/**
 * The decoder calls the worker makes for one upload (packages/pipeline/src/onnx/input-decoding.ts,
 * decodeInput), without the model preprocessing: what inspectUpload must agree with. Video stops
 * after the probe and the duration / frame-rate check (frames are decoded from the same header).
 */
export async function workerDecode(bytes: Uint8Array, modality: UploadModality, limits: Required<UploadLimits>): Promise<void> {
  const maxBytes = limits.maxUploadBytes;
  if (bytes.length > maxBytes) throw new MediaError('MEDIA_TOO_LARGE', `over ${maxBytes} bytes`);
  switch (modality) {
    case 'audio':
      await decodeAudio(bytes, { limits: { maxBytes, maxDurationSec: limits.maxAudioSeconds } });
      return;
    case 'image':
    case 'depth':
    case 'thermal':
      await decodeImage(bytes, { mode: modality === 'image' ? 'rgb' : 'grayscale', limits: { maxBytes, maxPixels: limits.maxPixels } });
      return;
    case 'video': {
      const info = await probeVideo(bytes, { limits: { maxBytes, maxDurationSec: limits.maxVideoSeconds } });
      if (info.durationSec === undefined || info.fps === undefined) throw new MediaError('VIDEO_INVALID', 'no duration or frame rate');
      return;
    }
    case 'imu': {
      const isNpy = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59].every((b, i) => bytes[i] === b);
      if (isNpy) parseImuNpy(bytes, { limits: { maxBytes } });
      else parseImuCsv(bytes, { limits: { maxBytes } });
      return;
    }
    case 'embedding':
      throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', 'an embedding is a vector, not a file');
  }
}
