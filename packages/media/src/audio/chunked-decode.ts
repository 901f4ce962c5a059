import type { AudioLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { maxSamplesAt } from './decoded-audio.js';

/** The shape every @wasm-audio-decoders / mpg123-decoder decoder returns. */
export interface DecodedChunk {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

/**
 * The part of those decoders' API used here (they run libFLAC, libvorbis, libopus, mpg123 in
 * WebAssembly). `Input` is a piece of the file (Uint8Array) or, for FLAC, a batch of whole frames.
 */
export interface StreamingDecoder<Input = Uint8Array> {
  ready: Promise<void>;
  decode(data: Input): DecodedChunk | Promise<DecodedChunk>;
  flush?: () => Promise<DecodedChunk>;
  free(): void;
}

export interface ChunkedResult {
  sampleRate: number;
  channels: Float32Array[];
  errors: string[];
}

export const CHUNK_BYTES = 64 * 1024;

/** The file in pieces of `size` bytes (views, not copies). */
export function* byteChunks(bytes: Uint8Array, size = CHUNK_BYTES): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

/**
 * Feeds the inputs (64 KiB pieces of the file, or batches of frames) to a streaming decoder and
 * stops as soon as the samples decoded pass the duration limit, so a header that lies (or says
 * nothing) about the length cannot make us hold more than the limit allows. The decoder is
 * always freed.
 */
export async function decodeInChunks<Input>(decoder: StreamingDecoder<Input>, inputs: Iterable<Input>, limits: AudioLimits, format: string): Promise<ChunkedResult> {
  const pieces: Float32Array[][] = [];
  const errors: string[] = [];
  let sampleRate = 0;
  let channelCount = 0;
  let total = 0;
  const take = (chunk: DecodedChunk): void => {
    for (const e of chunk.errors) errors.push(e.message);
    if (chunk.samplesDecoded === 0) return;
    if (channelCount === 0) {
      sampleRate = chunk.sampleRate;
      channelCount = chunk.channelData.length;
    } else if (chunk.channelData.length !== channelCount || chunk.sampleRate !== sampleRate) {
      throw new MediaError('AUDIO_INVALID', `The ${format} stream changes from ${channelCount} channels at ${sampleRate} Hz to ${chunk.channelData.length} at ${chunk.sampleRate} Hz`);
    }
    if (channelCount > limits.maxChannels) {
      throw new MediaError('AUDIO_TOO_MANY_CHANNELS', `The audio has ${channelCount} channels, over the limit of ${limits.maxChannels}`);
    }
    // Copy: a decoder may hand out views of its WebAssembly memory.
    pieces.push(chunk.channelData.map((c) => c.slice(0, chunk.samplesDecoded)));
    total += chunk.samplesDecoded;
    if (total > maxSamplesAt(sampleRate, limits)) {
      throw new MediaError('AUDIO_TOO_LONG', `The audio lasts more than ${limits.maxDurationSec} s, the limit`);
    }
  };
  try {
    await decoder.ready;
    for (const input of inputs) take(await decoder.decode(input));
    if (decoder.flush) take(await decoder.flush());
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError('AUDIO_INVALID', `The ${format} decoder failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    decoder.free();
  }
  const channels = Array.from({ length: channelCount }, (_, c) => {
    const out = new Float32Array(total);
    let at = 0;
    for (const piece of pieces) { out.set(piece[c]!, at); at += piece[c]!.length; }
    return out;
  });
  return { sampleRate, channels, errors };
}
