import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { MPEGDecoder } from 'mpg123-decoder';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import type { AudioLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { checkAudioHeader, checkAudioLength, checkHasSamples } from './decoded-audio.js';
import { byteChunks, CHUNK_BYTES, decodeInChunks, type ChunkedResult, type StreamingDecoder } from './chunked-decode.js';
import { makeDecodedAudio, type DecodedAudio } from './decoded-audio.js';
import { splitFlacFrames, type FlacFrame } from './flac-frames.js';
import { flacFirstFrameOffset, readFlacStreamInfo } from './flac-header.js';
import { walkMp3Frames } from './mp3-frames.js';
import { readMp3Info, type Mp3Info } from './mp3-header.js';
import { scanOgg } from './ogg-pages.js';
import { signedIntToFloat } from './sox-scale.js';

/**
 * FLAC, MP3, Ogg Vorbis and Ogg Opus through eshaz's wasm-audio-decoders (libFLAC, mpg123,
 * libvorbis and libopus compiled to WebAssembly): maintained, in-process, no native binary,
 * and a decoder bug cannot reach outside the WebAssembly sandbox. Each reads its header first
 * (length, channels, rate checked against the limits), decodes in chunks under the same limits,
 * then refuses a stream shorter than its header declares (AUDIO_TRUNCATED). FLAC is split into
 * frames here and decoded frame by frame (see flac-frames.ts for why).
 */
function refuseDecoderErrors(result: ChunkedResult, format: string): void {
  if (result.errors.length > 0) {
    throw new MediaError('AUDIO_INVALID', `The ${format} stream is damaged (${result.errors.length} decoding errors; first: ${result.errors[0]})`);
  }
}

export async function decodeFlac(bytes: Uint8Array, limits: AudioLimits): Promise<DecodedAudio> {
  const info = readFlacStreamInfo(bytes);
  checkAudioHeader({ channels: info.channels, sampleRate: info.sampleRate, samples: info.totalSamples }, limits, 'FLAC');
  const { frames, samples } = splitFlacFrames(bytes, flacFirstFrameOffset(bytes));
  if (info.totalSamples !== undefined && samples < info.totalSamples) {
    throw new MediaError('AUDIO_TRUNCATED', `The FLAC file is cut short: its header declares ${info.totalSamples} samples per channel, its frames hold ${samples}`);
  }
  checkAudioLength(samples, info.sampleRate, limits);
  const flac = new FLACDecoder();
  const frameDecoder: StreamingDecoder<Uint8Array[]> = {
    ready: flac.ready, decode: (batch) => flac.decodeFrames(batch), free: () => flac.free(),
  };
  const result = await decodeInChunks(frameDecoder, frameBatches(frames), limits, 'FLAC');
  refuseDecoderErrors(result, 'FLAC');
  const decoded = result.channels[0]?.length ?? 0;
  if (decoded !== samples) {
    throw new MediaError('AUDIO_INVALID', `The FLAC stream is damaged: its frames declare ${samples} samples per channel, ${decoded} could be decoded`);
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

/** Whole frames in batches of about CHUNK_BYTES, so the duration cap is checked as often as for the other codecs. */
function* frameBatches(frames: FlacFrame[]): Generator<Uint8Array[]> {
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  for (const frame of frames) {
    batch.push(frame.data);
    batchBytes += frame.data.length;
    if (batchBytes >= CHUNK_BYTES) {
      yield batch;
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

export async function decodeMp3(bytes: Uint8Array, limits: AudioLimits): Promise<DecodedAudio> {
  const info = readMp3Info(bytes);
  // Only a Xing/Info/VBRI frame count is trusted for the early check; a bitrate estimate is
  // not (variable bitrate); the chunked decode enforces the limit either way.
  const declaredSamples = info.declaredFrames !== undefined ? info.declaredFrames * info.samplesPerFrame : undefined;
  checkAudioHeader({ channels: info.channels, sampleRate: info.sampleRate, samples: declaredSamples }, limits, 'MP3');
  refuseCutMp3(bytes, info);
  // Gapless: mpg123 trims the encoder delay and padding the LAME tag records.
  const result = await decodeInChunks(new MPEGDecoder({ enableGapless: true }), byteChunks(bytes), limits, 'MP3');
  refuseDecoderErrors(result, 'MP3');
  checkHasSamples(result.channels[0]?.length ?? 0, 'MP3');
  // mpg123-decoder always writes two channels (a mono stream twice); torchaudio gives mono as one.
  const channels = info.channels === 1 ? result.channels.slice(0, 1) : result.channels;
  return makeDecodedAudio(result.sampleRate, channels, 'mp3');
}

/**
 * AUDIO_TRUNCATED when the file ends inside a frame, or holds fewer frames or bytes than its
 * Xing/Info/VBRI tag declares. One frame of slack on the declared counts, for encoders that
 * count the tag's own frame; a file without such a tag and cut exactly between two frames
 * cannot be told from a shorter one.
 */
function refuseCutMp3(bytes: Uint8Array, info: Mp3Info): void {
  const walk = walkMp3Frames(bytes, info.firstFrame);
  if (walk.endsInsideFrame) {
    throw new MediaError('AUDIO_TRUNCATED', `The MP3 file is cut short inside frame ${walk.frames} (${bytes.length} bytes)`);
  }
  const audioFrames = walk.frames - (info.hasTagFrame ? 1 : 0);
  if (info.declaredFrames !== undefined && audioFrames + 1 < info.declaredFrames) {
    throw new MediaError('AUDIO_TRUNCATED', `The MP3 file is cut short: its Xing/Info tag declares ${info.declaredFrames} frames, the file holds ${audioFrames}`);
  }
  const streamBytes = bytes.length - info.firstFrame;
  if (info.declaredBytes !== undefined && streamBytes + info.frameLength < info.declaredBytes) {
    throw new MediaError('AUDIO_TRUNCATED', `The MP3 file is cut short: its Xing/Info tag declares ${info.declaredBytes} bytes, the file holds ${streamBytes}`);
  }
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
  const result = await decodeInChunks(decoder, byteChunks(bytes), limits, `Ogg ${codec}`);
  refuseDecoderErrors(result, `Ogg ${codec}`);
  // RFC 7845 4.5 / Vorbis I A.2: the last granule position says where the stream ends; the
  // decoders' own end trim misses the Opus pre-skip when the pre-skip and the last page meet
  // (files under about a second: 312 samples too many). Trim here; never pad. Not for chained
  // files, whose later streams the granule of the first one does not count.
  const declared = scan.declaredSamples;
  if (declared !== undefined && !scan.multipleStreams && (result.channels[0]?.length ?? 0) > declared) {
    result.channels = result.channels.map((channel) => channel.slice(0, declared));
  }
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
