import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { MPEGDecoder } from 'mpg123-decoder';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import type { AudioLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { checkAudioHeader, checkHasSamples } from './audio-checks.js';
import { decodeInChunks, type ChunkedResult } from './chunked-decode.js';
import { makeDecodedAudio, type DecodedAudio } from './decoded-audio.js';
import { readFlacStreamInfo } from './flac-header.js';
import { readMp3Info } from './mp3-header.js';
import { scanOgg } from './ogg-pages.js';
import { signedIntToFloat } from './sox-scale.js';

/**
 * FLAC, MP3, Ogg Vorbis and Ogg Opus through eshaz's wasm-audio-decoders (libFLAC, mpg123,
 * libvorbis and libopus compiled to WebAssembly): maintained, in-process, no native binary,
 * and a decoder bug cannot reach outside the WebAssembly sandbox. Each reads its header first
 * (length, channels, rate checked against the limits), decodes in chunks under the same limits,
 * then refuses a stream shorter than its header declares (AUDIO_TRUNCATED).
 */
function refuseDecoderErrors(result: ChunkedResult, format: string): void {
  if (result.errors.length > 0) {
    throw new MediaError('AUDIO_INVALID', `The ${format} stream is damaged (${result.errors.length} decoding errors; first: ${result.errors[0]})`);
  }
}

export async function decodeFlac(bytes: Uint8Array, limits: AudioLimits): Promise<DecodedAudio> {
  const info = readFlacStreamInfo(bytes);
  checkAudioHeader({ channels: info.channels, sampleRate: info.sampleRate, samples: info.totalSamples }, limits, 'FLAC');
  const result = await decodeInChunks(new FLACDecoder(), bytes, limits, 'FLAC');
  refuseDecoderErrors(result, 'FLAC');
  const decoded = result.channels[0]?.length ?? 0;
  if (info.totalSamples !== undefined && decoded < info.totalSamples) {
    throw new MediaError('AUDIO_TRUNCATED', `The FLAC file is cut short: its header declares ${info.totalSamples} samples per channel, ${decoded} could be decoded`);
  }
  checkHasSamples(decoded, 'FLAC');
  // The decoder returns v / (2^(bits-1) - 1) (checked bit-exact on 16 and 24-bit files); recover
  // the integer v and scale it as torchaudio does, v / 2^(bits-1).
  const fullScale = 2 ** (info.bitsPerSample - 1) - 1;
  for (const channel of result.channels) {
    for (let i = 0; i < channel.length; i++) channel[i] = signedIntToFloat(Math.round(channel[i]! * fullScale), info.bitsPerSample);
  }
  return makeDecodedAudio(result.sampleRate, result.channels, 'flac');
}

export async function decodeMp3(bytes: Uint8Array, limits: AudioLimits): Promise<DecodedAudio> {
  const info = readMp3Info(bytes);
  // Only a Xing/Info/VBRI frame count is trusted for the early check; a bitrate estimate is
  // not (variable bitrate); the chunked decode enforces the limit either way.
  const declaredSamples = info.declaredFrames !== undefined ? info.declaredFrames * info.samplesPerFrame : undefined;
  checkAudioHeader({ channels: info.channels, sampleRate: info.sampleRate, samples: declaredSamples }, limits, 'MP3');
  const streamBytes = bytes.length - info.firstFrame;
  if (info.declaredBytes !== undefined && streamBytes + info.frameLength < info.declaredBytes) {
    throw new MediaError('AUDIO_TRUNCATED', `The MP3 file is cut short: its Xing/Info tag declares ${info.declaredBytes} bytes, the file holds ${streamBytes}`);
  }
  // Gapless: mpg123 trims the encoder delay and padding the LAME tag records.
  const result = await decodeInChunks(new MPEGDecoder({ enableGapless: true }), bytes, limits, 'MP3');
  refuseDecoderErrors(result, 'MP3');
  checkHasSamples(result.channels[0]?.length ?? 0, 'MP3');
  return makeDecodedAudio(result.sampleRate, result.channels, 'mp3');
}

async function decodeOgg(bytes: Uint8Array, limits: AudioLimits, codec: 'vorbis' | 'opus'): Promise<DecodedAudio> {
  const format = `ogg-${codec}`;
  const scan = scanOgg(bytes);
  if (scan.codec !== codec) throw new MediaError('AUDIO_INVALID', `Expected an Ogg ${codec} stream but the first packet is ${scan.codec}`);
  checkAudioHeader({ channels: scan.channels, sampleRate: scan.sampleRate, samples: scan.declaredSamples }, limits, `Ogg ${codec}`);
  if (scan.cutInsidePage || !scan.endOfStream) {
    throw new MediaError('AUDIO_TRUNCATED', `The Ogg ${codec} file is cut short: ${scan.cutInsidePage ? 'its last page is incomplete' : 'it ends without an end-of-stream page'}`);
  }
  const decoder = codec === 'vorbis' ? new OggVorbisDecoder() : new OggOpusDecoder({ forceStereo: false, speechQualityEnhancement: 'none' });
  const result = await decodeInChunks(decoder, bytes, limits, `Ogg ${codec}`);
  refuseDecoderErrors(result, `Ogg ${codec}`);
  checkHasSamples(result.channels[0]?.length ?? 0, `Ogg ${codec}`);
  if (codec === 'vorbis') {
    // libsox (torchaudio 0.13's reader) takes Vorbis through vorbisfile's ov_read as 16-bit
    // integers: round to the nearest step of 1/32768, clipped to int16.
    for (const channel of result.channels) {
      for (let i = 0; i < channel.length; i++) channel[i] = Math.min(32767, Math.max(-32768, Math.round(channel[i]! * 32768))) / 32768;
    }
  }
  return makeDecodedAudio(result.sampleRate, result.channels, format);
}

export const decodeOggVorbis = (bytes: Uint8Array, limits: AudioLimits): Promise<DecodedAudio> => decodeOgg(bytes, limits, 'vorbis');
export const decodeOggOpus = (bytes: Uint8Array, limits: AudioLimits): Promise<DecodedAudio> => decodeOgg(bytes, limits, 'opus');
