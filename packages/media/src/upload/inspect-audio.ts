import { checkAudioHeader, checkAudioLength, checkHasSamples } from '../audio/audio-checks.js';
import { audioReader } from '../audio/decode-audio.js';
import { splitFlacFrames } from '../audio/flac-frames.js';
import { flacFirstFrameOffset, readFlacStreamInfo } from '../audio/flac-header.js';
import { walkMp3Frames } from '../audio/mp3-frames.js';
import { readMp3Info } from '../audio/mp3-header.js';
import { readOggPage, readOggTail, scanOgg } from '../audio/ogg-pages.js';
import { probeSoundtrack } from '../audio/soundtrack.js';
import { parseWavHeader } from '../audio/wav.js';
import { withTempFile } from '../ffmpeg/temp-file.js';
import type { AudioLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import type { SniffResult } from '../sniff.js';
import type { UploadFile } from './upload-file.js';

export interface AudioHeaderFacts {
  sampleRate: number;
  channels: number;
  /** undefined only for a container whose ffprobe gives no duration. */
  durationSeconds: number | undefined;
}

// Two of the largest Ogg pages (27 + 255 + 255 x 255 bytes each): the last whole page is in there.
const OGG_TAIL_BYTES = 2 * 65_307;

/**
 * What decodeAudio checks before decoding, from headers only, with the same codes: the format
 * (audioReader), channels, sample rate and length against the limits. Where the header gives
 * no length, a bounded scan that decodes nothing: FLAC frames (CRC checks) or MP3 frame
 * headers over the file, the last Ogg page from the file's tail. Cut or damaged frames are
 * left to the decoder, except what the tail of an Ogg file shows (AUDIO_TRUNCATED).
 */
export async function inspectAudioHeader(upload: UploadFile, head: Uint8Array, sniffed: SniffResult, limits: AudioLimits, signal?: AbortSignal): Promise<AudioHeaderFacts> {
  if (audioReader(sniffed) === 'soundtrack') {
    const probe = (path: string) => probeSoundtrack(path, sniffed.format, limits, signal);
    const { track, durationSec } = upload.path !== undefined ? await probe(upload.path) : await withTempFile(await upload.readAll(), probe);
    return { sampleRate: track.sampleRate, channels: track.channels, durationSeconds: durationSec };
  }
  switch (sniffed.format) {
    case 'wav': return inspectWav(upload, head, limits);
    case 'flac': return inspectFlac(upload, head, limits);
    case 'mp3': return inspectMp3(upload, head, limits);
    case 'ogg-vorbis': return inspectOgg(upload, head, limits, 'vorbis');
    case 'ogg-opus': return inspectOgg(upload, head, limits, 'opus');
    default: throw new Error(`No header reader for in-process audio format ${sniffed.format}`);
  }
}

/** Length from the data chunk's size, capped by the file's size as decodeWav caps it. */
async function inspectWav(upload: UploadFile, head: Uint8Array, limits: AudioLimits): Promise<AudioHeaderFacts> {
  let header;
  try {
    header = parseWavHeader(head, upload.size);
  } catch (error) {
    // Chunks before the data chunk (LIST, bext, ...) that run past the head: read them all.
    if (head.length >= upload.size) throw error;
    header = parseWavHeader(await upload.readAll());
  }
  checkAudioHeader({ channels: header.channels, sampleRate: header.sampleRate, samples: header.frames }, limits, 'WAV');
  checkHasSamples(header.frames, 'WAV');
  return { sampleRate: header.sampleRate, channels: header.channels, durationSeconds: header.frames / header.sampleRate };
}

/** STREAMINFO's total; when it is 0 (a stream written to a pipe), the frames are counted. */
async function inspectFlac(upload: UploadFile, head: Uint8Array, limits: AudioLimits): Promise<AudioHeaderFacts> {
  const info = readFlacStreamInfo(head);
  checkAudioHeader({ channels: info.channels, sampleRate: info.sampleRate, samples: info.totalSamples }, limits, 'FLAC');
  let samples = info.totalSamples;
  if (samples === undefined) {
    const bytes = await upload.readAll();
    samples = splitFlacFrames(bytes, flacFirstFrameOffset(bytes)).samples;
    checkAudioLength(samples, info.sampleRate, limits);
    checkHasSamples(samples, 'FLAC');
  }
  return { sampleRate: info.sampleRate, channels: info.channels, durationSeconds: samples / info.sampleRate };
}

/** The Xing/Info/VBRI frame count; without one, the frame headers are walked. */
async function inspectMp3(upload: UploadFile, head: Uint8Array, limits: AudioLimits): Promise<AudioHeaderFacts> {
  const info = readMp3Info(head);
  let samples = info.declaredFrames !== undefined ? info.declaredFrames * info.samplesPerFrame : undefined;
  checkAudioHeader({ channels: info.channels, sampleRate: info.sampleRate, samples }, limits, 'MP3');
  if (samples === undefined) {
    samples = walkMp3Frames(await upload.readAll(), info.firstFrame).samples;
    // The decoder's running cap, which would stop this file, says "more than".
    if (samples > limits.maxDurationSec * info.sampleRate) {
      throw new MediaError('AUDIO_TOO_LONG', `The audio lasts more than ${limits.maxDurationSec} s, the limit`);
    }
  }
  return { sampleRate: info.sampleRate, channels: info.channels, durationSeconds: samples / info.sampleRate };
}

/** Identification header from the head, last granule position and end-of-stream flag from the tail. */
async function inspectOgg(upload: UploadFile, head: Uint8Array, limits: AudioLimits, codec: 'vorbis' | 'opus'): Promise<AudioHeaderFacts> {
  const scan = scanOgg(head);
  if (scan.codec !== codec) throw new MediaError('AUDIO_INVALID', `Expected an Ogg ${codec} stream but the first packet is ${scan.codec}`);
  const first = readOggPage(head, 0);
  const serial = first !== undefined && first !== 'cut' ? first.serial : 0;
  const tail = readOggTail(await upload.readTail(OGG_TAIL_BYTES), serial);
  const declaredSamples = tail.granule >= 0n ? Math.max(0, Number(tail.granule) - scan.preSkip) : undefined;
  checkAudioHeader({ channels: scan.channels, sampleRate: scan.sampleRate, samples: declaredSamples }, limits, `Ogg ${codec}`);
  if (tail.cutInsidePage || !tail.endOfStream) {
    throw new MediaError('AUDIO_TRUNCATED', `The Ogg ${codec} file is cut short: ${tail.cutInsidePage ? 'its last page is incomplete' : 'it ends without an end-of-stream page'}`);
  }
  return { sampleRate: scan.sampleRate, channels: scan.channels, durationSeconds: declaredSamples === undefined ? undefined : declaredSamples / scan.sampleRate };
}
