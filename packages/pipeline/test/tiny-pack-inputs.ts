import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { ffmpegBinaries } from '@a2i/media';

/**
 * The tiny pack of @a2i/model-pack's tests (packages/model-pack/test/fixtures/make_tiny_pack.py):
 * every encoder with a real input shape, an 8-d space, a UNet / VAE / prior with Stable unCLIP's
 * and DALLE-2's signatures (fixed arithmetic), 8x8 images from 4x4x4 latents.
 */
export { TINY_PACK, tinyPackCopy, type Json } from '../../../packages/model-pack/test/tiny-pack.js';
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** A 16-bit PCM WAV of two tones. */
export function wavBytes(sampleRate: number, seconds: number, channels = 1, freqs: [number, number] = [440, 1234]): Uint8Array {
  const frames = Math.round(sampleRate * seconds);
  const data = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const v = Math.round(8000 * Math.sin(2 * Math.PI * freqs[0] * t) + 4000 * Math.sin(2 * Math.PI * freqs[1] * t));
    for (let c = 0; c < channels; c++) data.writeInt16LE(v, (i * channels + c) * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return new Uint8Array(Buffer.concat([header, data]));
}

/** An RGB PNG with a gradient (colour `tint`), width x height. */
export async function pngBytes(width: number, height: number, tint: [number, number, number]): Promise<Uint8Array> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = (tint[0] * x) / width;
      raw[o + 1] = (tint[1] * y) / height;
      raw[o + 2] = tint[2];
    }
  }
  return new Uint8Array(await sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer());
}

/** A 16-bit grayscale PNG (a depth map: a ramp over the full 16-bit range). */
export async function depth16PngBytes(width: number, height: number): Promise<Uint8Array> {
  const raw = new Uint16Array(width * height);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.round((65535 * i) / (raw.length - 1));
  // sharp reads a Uint16Array of raw pixels as 16-bit samples
  return new Uint8Array(await sharp(raw, { raw: { width, height, channels: 1 } }).toColourspace('grey16').png().toBuffer());
}

/** IMU CSV: 6 channels (acc xyz, gyro xyz), `samples` rows. */
export function imuCsv(samples: number): string {
  const rows = ['acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z'];
  for (let i = 0; i < samples; i++) {
    const t = i / 200;
    rows.push([Math.sin(t), Math.cos(t), 1, 10 * Math.sin(3 * t), 0.5, -2].map((v) => v.toFixed(5)).join(','));
  }
  return `${rows.join('\n')}\n`;
}

/** A short MP4 (ffmpeg's test pattern) made with the system's ffmpeg. */
export async function mp4Bytes(dir: string, seconds: number): Promise<Uint8Array> {
  const { ffmpeg } = ffmpegBinaries();
  const out = join(dir, 'pattern.mp4');
  await promisify(execFile)(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `testsrc=duration=${seconds}:size=48x32:rate=10`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', out]);
  return new Uint8Array(readFileSync(out));
}
