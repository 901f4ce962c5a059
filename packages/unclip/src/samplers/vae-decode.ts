import type { InferenceSession } from 'onnxruntime-node';
import { UnclipError } from '../unclip-error.js';
import type { DecoderManifest } from './manifest-sections.js';
import { floatTensor, runFloat } from './onnx-io.js';
import { planarToRgbImages, type RgbImage } from './rgb-image.js';

/**
 * Latents [B, C, h, w] -> RGB bytes [H, W, 3] per image: the VAE decoder on latents /
 * scalingFactor (diffusers: `vae.decode(latents / vae.config.scaling_factor)`), its output
 * mapped from outputRange to bytes. One call for the batch unless the model's batch is fixed at 1.
 */
export async function decodeLatents(
  vae: InferenceSession,
  manifest: Pick<DecoderManifest, 'vae' | 'imageSize' | 'latentShape'>,
  latents: Float32Array,
  batch: number,
): Promise<RgbImage[]> {
  const { input, output, scalingFactor, outputRange } = manifest.vae;
  if (typeof scalingFactor !== 'number' || !(scalingFactor > 0)) {
    throw new UnclipError('INVALID_OPTION', `Expected a positive number for decoder.vae.scalingFactor but received ${String(scalingFactor)}`);
  }
  const [C, h, w] = manifest.latentShape as [number, number, number];
  const [H, W] = manifest.imageSize as [number, number];
  const scaled = latents.map((x) => x / scalingFactor);
  const meta = vae.inputMetadata.find((m) => m.name === input);
  const fixedBatchOfOne = meta?.isTensor === true && meta.shape[0] === 1;
  const chunk = fixedBatchOfOne ? 1 : batch;
  const images: RgbImage[] = [];
  for (let start = 0; start < batch; start += chunk) {
    const rows = Math.min(chunk, batch - start);
    const slice = scaled.subarray(start * C * h * w, (start + rows) * C * h * w);
    const planar = await runFloat(vae, { [input]: floatTensor(slice, [rows, C, h, w]) }, output, rows * 3 * H * W, 'VAE decoder');
    images.push(...planarToRgbImages(planar, rows, H, W, outputRange));
  }
  return images;
}
