import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeAudio, decodeImage } from '../src/index.js';

// Recordings and photos nobody here made (ImageBind's assets), read from the shared folder
// beside the repository and never copied into it; skipped where that folder is absent.
const here = dirname(fileURLToPath(import.meta.url));
const folder = [join(here, '../../../../shared/real-samples'), '/work/shared/real-samples'].find((f) => existsSync(f));

// Printed by test/fixtures/torchaudio_load_stats.py (torchaudio 0.13.1 sox_io; Pillow 9.4).
const TORCHAUDIO: Record<string, { sampleRate: number; channels: number; samples: number; first: number[][]; at10000: number[]; sum: number[]; sumSquares: number[] }> = {
  'bird_audio.wav': {
    sampleRate: 44100, channels: 2, samples: 220500,
    first: [[0.0, -3.0517578125e-05, -3.0517578125e-05, 6.103515625e-05], [3.0517578125e-05, 0.0, -3.0517578125e-05, 6.103515625e-05]],
    at10000: [-0.000335693359375, -0.000152587890625],
    sum: [0.003082275390625, -0.008270263671875], sumSquares: [322.48334567341954, 549.52376413811],
  },
  'car_audio.wav': {
    sampleRate: 44100, channels: 1, samples: 220500,
    first: [[-0.06170654296875, -0.062408447265625, -0.062835693359375, -0.062286376953125]],
    at10000: [0.00390625], sum: [-6.603729248046875], sumSquares: [432.3524408759549],
  },
  'dog_audio.wav': {
    sampleRate: 44100, channels: 2, samples: 115110,
    first: [[-0.00115966796875, 0.001373291015625, 0.002655029296875, 0.00360107421875], [-0.00115966796875, 0.001373291015625, 0.002655029296875, 0.00360107421875]],
    at10000: [-0.463043212890625, -0.463043212890625],
    sum: [-3.914154052734375, -3.914154052734375], sumSquares: [931.9447739599273, 931.9447739599273],
  },
};

// PIL.Image.open(path).convert("RGB"): size, per-channel sums, two pixels.
const PIL_RGB: Record<string, { width: number; height: number; sum: number[]; pixel00: number[]; pixelMid: number[] }> = {
  'bird_image.jpg': { width: 640, height: 855, sum: [76436012, 84360336, 80324518], pixel00: [115, 161, 197], pixelMid: [104, 93, 97] },
  'car_image.jpg': { width: 640, height: 360, sum: [24827098, 25453221, 19812161], pixel00: [20, 52, 37], pixelMid: [102, 150, 128] },
  'dog_image.jpg': { width: 640, height: 848, sum: [53523613, 54350383, 51640301], pixel00: [47, 93, 129], pixelMid: [78, 66, 66] },
};

describe.skipIf(!folder)('real recordings: decodeAudio equals torchaudio.load', () => {
  for (const [name, ref] of Object.entries(TORCHAUDIO)) {
    // Tolerance: samples bit-exact (16-bit PCM / 32768 is exact in float32); sums in float64
    // to 1e-9 relative (summation order differs from numpy's pairwise sum).
    it(name, async () => {
      const audio = await decodeAudio(new Uint8Array(readFileSync(join(folder!, name))));
      expect(audio.sampleRate).toBe(ref.sampleRate);
      expect(audio.channels).toHaveLength(ref.channels);
      audio.channels.forEach((channel, c) => {
        expect(channel.length).toBe(ref.samples);
        expect(Array.from(channel.subarray(0, 4))).toEqual(ref.first[c]);
        expect(channel[10000]).toBe(ref.at10000[c]);
        let sum = 0;
        let squares = 0;
        for (const v of channel) { sum += v; squares += v * v; }
        expect(sum).toBeCloseTo(ref.sum[c]!, 9);
        expect(Math.abs(squares - ref.sumSquares[c]!) / ref.sumSquares[c]!).toBeLessThan(1e-9);
      });
    });
  }
});

describe.skipIf(!folder)('real photos: decodeImage against PIL convert("RGB")', () => {
  for (const [name, ref] of Object.entries(PIL_RGB)) {
    // libvips (sharp's mozjpeg / libjpeg-turbo) and Pillow's libjpeg-turbo gave identical sums
    // and pixels here: tolerance 0. A different libvips build could shift single pixels by an
    // IDCT rounding; then loosen to a per-channel mean difference below 0.5 level.
    it(name, async () => {
      const image = await decodeImage(new Uint8Array(readFileSync(join(folder!, name))));
      expect([image.width, image.height, image.channels]).toEqual([ref.width, ref.height, 3]);
      const sums = [0, 0, 0];
      for (let i = 0; i < image.data.length; i++) sums[i % 3]! += image.data[i]!;
      expect(sums).toEqual(ref.sum);
      const at = (x: number, y: number): number[] => Array.from(image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3));
      expect(at(0, 0)).toEqual(ref.pixel00);
      expect(at(Math.floor(ref.width / 2), Math.floor(ref.height / 2))).toEqual(ref.pixelMid);
    });
  }
});
