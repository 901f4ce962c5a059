import type { InferenceSession } from 'onnxruntime-node';
import { UnclipError } from '../unclip-error.js';
import type { DecoderManifest } from './manifest-sections.js';
import { floatTensor, runFloat } from './onnx-io.js';
import { SharedTurnCall } from './shared-batch.js';

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
  /** Continuous batching: the jobs that reach the VAE in the same turn decode in one call (shared-batch.ts). */
  readonly shared: SharedTurnCall | null;
}

/** Resolves `decoder.vae` (and the latent and image sizes) of a pack manifest for `session`. */
export function prepareVae(session: InferenceSession, manifest: Pick<DecoderManifest, 'vae' | 'imageSize' | 'latentShape'>, options: { shareAcrossJobs?: boolean } = {}): VaeModel {
  const { input, output, scalingFactor, outputRange } = manifest.vae;
  if (typeof scalingFactor !== 'number' || !(scalingFactor > 0)) {
    throw new UnclipError('INVALID_OPTION', `Expected a positive number for decoder.vae.scalingFactor but received ${String(scalingFactor)}`);
  }
  const meta = session.inputMetadata.find((m) => m.name === input);
  const vae: Omit<VaeModel, 'shared'> = {
    session,
    input,
    output,
    scalingFactor,
    outputRange: [outputRange[0]!, outputRange[1]!],
    latentShape: manifest.latentShape as [number, number, number],
    imageSize: manifest.imageSize as [number, number],
    fixedBatchOfOne: meta?.isTensor === true && meta.shape[0] === 1,
  };
  const [C, h, w] = vae.latentShape;
  const [H, W] = vae.imageSize;
  const shared = options.shareAcrossJobs === true && !vae.fixedBatchOfOne
    ? new SharedTurnCall(C * h * w, 3 * H * W, (scaled, rows) => runVaeRows(vae, scaled, rows))
    : null;
  return { ...vae, shared };
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
  if (vae.shared) return planarToRgbImages(await vae.shared.call(scaled, batch), batch, H, W, vae.outputRange);
  const chunk = vae.fixedBatchOfOne ? 1 : batch;
  const images: RgbImage[] = [];
  for (let start = 0; start < batch; start += chunk) {
    const rows = Math.min(chunk, batch - start);
    const slice = scaled.subarray(start * C * h * w, (start + rows) * C * h * w);
    const planar = await runVaeRows(vae, slice, rows);
    images.push(...planarToRgbImages(planar, rows, H, W, vae.outputRange));
  }
  return images;
}

/** The VAE on `rows` scaled latents at once: planar images [rows, 3, H, W]. */
function runVaeRows(vae: Omit<VaeModel, 'shared'>, scaled: Float32Array, rows: number): Promise<Float32Array> {
  const [C, h, w] = vae.latentShape;
  const [H, W] = vae.imageSize;
  return runFloat(vae.session, { [vae.input]: floatTensor(scaled, [rows, C, h, w]) }, vae.output, rows * 3 * H * W, 'VAE decoder');
}

// ---- RGB images (was rgb-image.ts): float planes to interleaved 8-bit pixels ----

/** An 8-bit RGB image, rows of pixels, channels interleaved: data [height, width, 3]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * A value in [lo, hi] to a byte as diffusers' VaeImageProcessor does:
 * round(clamp((x - lo) / (hi - lo), 0, 1) * 255), rounding half to even (numpy).
 */
export function toByte(x: number, lo: number, hi: number): number {
  const unit = Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
  const scaled = unit * 255;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Planar CHW float images [B, 3, H, W] in [lo, hi] -> interleaved RGB bytes, one image per row. */
export function planarToRgbImages(planar: Float32Array, batch: number, height: number, width: number, range: readonly number[]): RgbImage[] {
  const [lo, hi] = [range[0] ?? -1, range[1] ?? 1];
  const plane = height * width;
  const images: RgbImage[] = [];
  for (let b = 0; b < batch; b++) {
    const data = new Uint8Array(plane * 3);
    const base = b * 3 * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) data[p * 3 + c] = toByte(planar[base + c * plane + p]!, lo, hi);
    }
    images.push({ width, height, data });
  }
  return images;
}
