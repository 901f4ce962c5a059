import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../src/index.js';
import { errorCode } from './helpers/ffmpeg-fixtures.js';
import { concat, wavBytes } from './helpers/wav-writer.js';

// Expected values printed by torchaudio 0.13.1 (sox_io) for WAVs holding these samples
// (scipy.io.wavfile.write, and a hand-written 24-bit file); exact float32 equality.
const TORCHAUDIO = {
  uint8: { input: [0, 127, 128, 129, 255], output: [-1, -0.0078125, 0, 0.0078125, 0.9921875] },
  int16: { input: [-32768, -1, 0, 1, 32767], output: [-1, -3.0517578125e-05, 0, 3.0517578125e-05, 0.999969482421875] },
  int24: { input: [-(2 ** 23), -1, 0, 1, 2 ** 23 - 1], output: [-1, -1.1920928955078125e-07, 0, 1.1920928955078125e-07, 0.9999998807907104] },
  // sox rounds int32 to 25 significant bits: +-1 become 0, 2^31-1 becomes 1.
  int32: { input: [-(2 ** 31), -1, 0, 1, 2 ** 31 - 1], output: [-1, 0, 0, 0, 1] },
  // sox clips float WAVs to [-1, 1] and truncates to its int32 grid (the last two values).
  float32: { input: [-1.5, 0.25, 2.0, 0, 1, 2.084557e-07, -3.024067e-08], output: [-1, 0.25, 1, 0, 1, 384 / 2 ** 31, 0] },
  float64: { input: [-1.5, 0.25, 2.0, 0, 1], output: [-1, 0.25, 1, 0, 1] },
} as const;

describe('decodeAudio: WAV', () => {
  for (const [encoding, { input, output }] of Object.entries(TORCHAUDIO)) {
    it(`scales ${encoding} samples exactly as torchaudio.load does`, async () => {
      const audio = await decodeAudio(wavBytes({ sampleRate: 8000, encoding: encoding as keyof typeof TORCHAUDIO, channels: [input] }));
      expect(audio.format).toBe('wav');
      expect(audio.sampleRate).toBe(8000);
      expect(Array.from(audio.channels[0]!)).toEqual(output.map((v) => Math.fround(v)));
    });
  }

  it('reads WAVE_FORMAT_EXTENSIBLE 24-bit stereo, de-interleaved', async () => {
    const left = [100, -200, 8388607];
    const right = [-8388608, 5, 0];
    const audio = await decodeAudio(wavBytes({ sampleRate: 48000, encoding: 'int24', channels: [left, right], extensible: true }));
    expect(audio.channels).toHaveLength(2);
    expect(Array.from(audio.channels[0]!)).toEqual(left.map((v) => Math.fround(v / 2 ** 23)));
    expect(Array.from(audio.channels[1]!)).toEqual(right.map((v) => Math.fround(v / 2 ** 23)));
    expect(audio.durationSec).toBeCloseTo(3 / 48000, 12);
  });

  it('reads extensible float32 and skips other chunks (odd-sized, padded)', async () => {
    const audio = await decodeAudio(wavBytes({
      sampleRate: 16000, encoding: 'float32', channels: [[0.5, -0.25]], extensible: true,
      extraChunk: { id: 'LIST', body: new Uint8Array(5) },
    }));
    expect(Array.from(audio.channels[0]!)).toEqual([0.5, -0.25]);
  });

  it('decodes what is there when the data chunk claims more bytes than the file has, with a warning', async () => {
    const full = wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [[1, 2, 3, 4, 5, 6]], dataSizeField: 1_000_000 });
    const audio = await decodeAudio(full.subarray(0, full.length - 3)); // also cut inside a sample
    expect(Array.from(audio.channels[0]!).map((v) => v * 32768)).toEqual([1, 2, 3, 4]);
    expect(audio.warnings[0]).toMatch(/declares 1000000 bytes/);
  });

  it('reads to the end of the file when the data size is a streaming placeholder', async () => {
    for (const placeholder of [0, 0xffffffff]) {
      const audio = await decodeAudio(wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [[7, 8, 9]], dataSizeField: placeholder }));
      expect(Array.from(audio.channels[0]!).map((v) => v * 32768)).toEqual([7, 8, 9]);
      expect(audio.warnings).toEqual([]);
    }
  });

  it('refuses an empty file, a text file and a cut header with stable codes', async () => {
    expect(await errorCode(() => decodeAudio(new Uint8Array(0)))).toBe('MEDIA_EMPTY');
    expect(await errorCode(() => decodeAudio(new TextEncoder().encode('this is not a wav file, it only has a .wav name\n')))).toBe('MEDIA_UNSUPPORTED_FORMAT');
    const wav = wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [[1, 2]] });
    expect(await errorCode(() => decodeAudio(wav.subarray(0, 20)))).toBe('AUDIO_TRUNCATED');
    expect(await errorCode(() => decodeAudio(wav.subarray(0, 11)))).toBe('MEDIA_UNSUPPORTED_FORMAT'); // too short to be recognised
  });

  it('refuses a WAV without samples', async () => {
    expect(await errorCode(() => decodeAudio(wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [[]] })))).toBe('AUDIO_NO_SAMPLES');
  });

  it('refuses audio over the duration limit from the header, before decoding', async () => {
    const threeSeconds = new Int16Array(3 * 8000);
    const bytes = wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [threeSeconds] });
    expect(await errorCode(() => decodeAudio(bytes, { limits: { maxDurationSec: 2 } }))).toBe('AUDIO_TOO_LONG');
    expect((await decodeAudio(bytes, { limits: { maxDurationSec: 3 } })).durationSec).toBe(3);
  });

  it('refuses too many channels, too many bytes and a sample rate over the limit', async () => {
    const six = Array.from({ length: 6 }, () => [0, 1]);
    expect(await errorCode(() => decodeAudio(wavBytes({ sampleRate: 8000, encoding: 'int16', channels: six }), { limits: { maxChannels: 2 } }))).toBe('AUDIO_TOO_MANY_CHANNELS');
    expect(await errorCode(() => decodeAudio(wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [[1]] }), { limits: { maxBytes: 10 } }))).toBe('MEDIA_TOO_LARGE');
    expect(await errorCode(() => decodeAudio(wavBytes({ sampleRate: 384000, encoding: 'int16', channels: [[1]] })))).toBe('AUDIO_UNSUPPORTED_ENCODING');
  });

  it('refuses encodings it does not decode (mu-law) by name', async () => {
    const bytes = wavBytes({ sampleRate: 8000, encoding: 'uint8', channels: [[1, 2]], formatTag: 7 });
    await expect(decodeAudio(bytes)).rejects.toMatchObject({ code: 'AUDIO_UNSUPPORTED_ENCODING', message: expect.stringMatching(/mu-law/) });
  });

  it('refuses NaN in a float WAV', async () => {
    expect(await errorCode(() => decodeAudio(wavBytes({ sampleRate: 8000, encoding: 'float32', channels: [[0, NaN]] })))).toBe('NON_FINITE_VALUE');
  });

  it('refuses a fmt chunk whose block size does not fit its channels', async () => {
    const bytes = wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [[1, 2]] });
    new DataView(bytes.buffer).setUint16(12 + 8 + 12, 3, true); // blockAlign
    expect(await errorCode(() => decodeAudio(bytes))).toBe('AUDIO_INVALID');
  });

  it('refuses a RIFF file whose chunk sizes run past its end before any data', async () => {
    const bytes = concat([wavBytes({ sampleRate: 8000, encoding: 'int16', channels: [[1]] }).subarray(0, 12), new TextEncoder().encode('junk'), new Uint8Array([255, 255, 0, 0])]);
    expect(await errorCode(() => decodeAudio(bytes))).toBe('AUDIO_TRUNCATED');
  });
});
