import type { InferenceSession } from 'onnxruntime-node';
import { UnclipError } from '../unclip-error.js';
import type { DecoderManifest } from './manifest-sections.js';
import { floatTensor, runFloat } from './onnx-io.js';
import { planarToRgbImages, type RgbImage } from './rgb-image.js';

/** The VAE decoder's session with its manifest fields resolved once (prepareVae). */
export interface VaeModel {
  readonly session: InferenceSession;
  readonly input: string;
  readonly output: string;
  readonly scalingFactor: number;
  readonly outputRange: readonly [number, number];
  /** [C, h, w] latents in, [H, W] pixels out. */
  readonly latentShape: readonly [number, number, number];
  readonly imageSize: readonly [number, number];
  /** The graph's batch is fixed at 1: one call per image. */
  readonly fixedBatchOfOne: boolean;
}

/** Resolves `decoder.vae` (and the latent and image sizes) of a pack manifest for `session`. */
export function prepareVae(session: InferenceSession, manifest: Pick<DecoderManifest, 'vae' | 'imageSize' | 'latentShape'>): VaeModel {
  const { input, output, scalingFactor, outputRange } = manifest.vae;
  if (typeof scalingFactor !== 'number' || !(scalingFactor > 0)) {
    throw new UnclipError('INVALID_OPTION', `Expected a positive number for decoder.vae.scalingFactor but received ${String(scalingFactor)}`);
  }
  const meta = session.inputMetadata.find((m) => m.name === input);
  return {
    session,
    input,
    output,
    scalingFactor,
    outputRange: [outputRange[0]!, outputRange[1]!],
    latentShape: manifest.latentShape as [number, number, number],
    imageSize: manifest.imageSize as [number, number],
    fixedBatchOfOne: meta?.isTensor === true && meta.shape[0] === 1,
  };
}

/**
 * Latents [B, C, h, w] -> RGB bytes [H, W, 3] per image: the VAE decoder on latents /
 * scalingFactor (diffusers: `vae.decode(latents / vae.config.scaling_factor)`), its output
 * mapped from outputRange to bytes. One call for the batch unless the model's batch is fixed at 1.
 */
export async function decodeLatents(vae: VaeModel, latents: Float32Array, batch: number): Promise<RgbImage[]> {
  const [C, h, w] = vae.latentShape;
  const [H, W] = vae.imageSize;
  const scaled = latents.map((x) => x / vae.scalingFactor);
  const chunk = vae.fixedBatchOfOne ? 1 : batch;
  const images: RgbImage[] = [];
  for (let start = 0; start < batch; start += chunk) {
    const rows = Math.min(chunk, batch - start);
    const slice = scaled.subarray(start * C * h * w, (start + rows) * C * h * w);
    const planar = await runFloat(vae.session, { [vae.input]: floatTensor(slice, [rows, C, h, w]) }, vae.output, rows * 3 * H * W, 'VAE decoder');
    images.push(...planarToRgbImages(planar, rows, H, W, vae.outputRange));
  }
  return images;
}
