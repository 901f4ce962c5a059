import { open, type FileHandle } from 'node:fs/promises';
import { probeFile } from '../ffmpeg/probe.js';
import { withTempFile } from '../ffmpeg/temp-file.js';
import { assertSupportedImage, checkImageSize, readImageHeader } from '../image/decode-image.js';
import { checkImuShape, IMU_CHANNELS } from '../imu/parse-imu.js';
import { DEFAULT_AUDIO_LIMITS, DEFAULT_IMU_LIMITS, DEFAULT_VIDEO_LIMITS, resolveLimits, type AudioLimits } from '../limits.js';
import { isMediaError, MediaError } from '../media-error.js';
import { parseNpyHeader } from '../npy.js';
import { describeSniffed, id3v2Length, sniffMediaType, utf8Start, type SniffResult } from '../sniff.js';
import { checkVideo, videoContainer } from '../video/probe-video.js';
import { checkAudioHeader, checkAudioLength, checkHasSamples } from '../audio/decoded-audio.js';
import { audioReader } from '../audio/decode-audio.js';
import { splitFlacFrames } from '../audio/flac-frames.js';
import { flacFirstFrameOffset, readFlacStreamInfo } from '../audio/flac-header.js';
import { walkMp3Frames } from '../audio/mp3-frames.js';
import { readMp3Info } from '../audio/mp3-header.js';
import { readOggPage, readOggTail, scanOgg } from '../audio/ogg-pages.js';
import { probeSoundtrack } from '../audio/soundtrack.js';
import { parseWavHeader } from '../audio/wav.js';

/** The request modalities whose content is a file, plus `embedding` (a vector: never a file). */
export const UPLOAD_MODALITIES = ['audio', 'image', 'depth', 'thermal', 'video', 'imu', 'embedding'] as const;
export type UploadModality = (typeof UPLOAD_MODALITIES)[number];

/** The server's limits, as the worker passes them to the decoders (PipelineLimits). */
export interface UploadLimits {
  maxUploadBytes: number;
  maxAudioSeconds: number;
  /** Width x height of an image, depth or thermal map. */
  maxPixels: number;
  /** Longest video; default DEFAULT_VIDEO_LIMITS.maxDurationSec (300 s), the limit the worker's probeVideo applies. */
  maxVideoSeconds?: number;
}

export interface InspectUploadOptions {
  /** Ends an ffprobe run (containers) early with MEDIA_ABORTED. */
  signal?: AbortSignal;
  /** Time allowed to ffprobe; default 10 s. */
  timeoutMs?: number;
}

/** What the headers say about an upload that passed. */
export interface UploadInspection {
  modality: UploadModality;
  /** Sniffed format, as the decoders name it (wav, flac, mp3, ogg-opus, mp4, png, jpeg, npy, csv, ...). */
  format: string;
  bytes: number;
  /** Audio, and video: from the header (a scan of frame headers where the header says nothing). */
  durationSeconds?: number;
  sampleRate?: number;
  channels?: number;
  /** Images, depth and thermal maps, video frames (rotation applied). */
  width?: number;
  height?: number;
  frameRate?: number;
  /** IMU .npy: samples per channel. */
  samples?: number;
}

// Enough for every header read here (file-type's signatures, WAV chunks, FLAC STREAMINFO, the
// MP3 tag frame, the first Ogg page, PNG/GIF/WebP/most JPEG and TIFF headers); more is read
// only where a header is further in (after an ID3v2 tag, a large JPEG APP segment, ...).
const HEAD_BYTES = 256 * 1024;
const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

/**
 * Checks an upload at POST time, as far as headers allow and WITHOUT decoding it: the API
 * calls this and the worker later decodes (packages/pipeline's input decoding). It throws the
 * MediaError the worker's decoder would throw for the same file and limits, for:
 * - the format: the bytes are not one the modality's decoder accepts (MEDIA_UNSUPPORTED_FORMAT;
 *   IMU_INVALID for an IMU file that is neither a .npy nor UTF-8 text, as parseImuCsv says);
 * - the size: MEDIA_EMPTY, MEDIA_TOO_LARGE (file size from the file system);
 * - what headers state: AUDIO_TOO_LONG / AUDIO_TOO_MANY_CHANNELS / AUDIO_UNSUPPORTED_ENCODING,
 *   IMAGE_TOO_LARGE, VIDEO_TOO_LONG / VIDEO_TOO_LARGE, NPY_* and IMU_INVALID_SHAPE, and the
 *   header damage a header reader sees (AUDIO_INVALID, AUDIO_TRUNCATED, IMAGE_INVALID,
 *   VIDEO_INVALID).
 * What only decoding shows (damaged frames, a FLAC or MP3 cut after a valid header, CSV cells)
 * is still the worker's to refuse.
 *
 * `file`: a path (read in parts: the first 256 KiB, the last 128 KiB for Ogg, all of it only for
 * a FLAC or MP3 whose header gives no length, a WAV or image whose header lies further in) or
 * the bytes. Video and container soundtracks go through ffprobe (headers only).
 */
export async function inspectUpload(file: string | Uint8Array, modality: UploadModality, limits: UploadLimits, options: InspectUploadOptions = {}): Promise<UploadInspection> {
  if (!(UPLOAD_MODALITIES as readonly string[]).includes(modality)) {
    throw new TypeError(`Expected one of ${UPLOAD_MODALITIES.join(', ')} for modality but received ${String(modality)}`);
  }
  const checked = checkUploadLimits(limits);
  const upload = await openUpload(file);
  try {
    const what = modality === 'imu' ? 'IMU' : modality;
    if (upload.size === 0) throw new MediaError('MEDIA_EMPTY', `The ${what} file is empty`);
    if (upload.size > checked.maxUploadBytes) {
      throw new MediaError('MEDIA_TOO_LARGE', `The ${what} file is ${upload.size} bytes, over the limit of ${checked.maxUploadBytes} bytes`);
    }
    const head = await readSniffHead(upload);
    const sniffed = await sniffMediaType(head);
    const base = { modality, format: sniffed.format, bytes: upload.size };
    const probeTimeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    switch (modality) {
      case 'audio': {
        const audioLimits = resolveLimits(DEFAULT_AUDIO_LIMITS, { maxBytes: checked.maxUploadBytes, maxDurationSec: checked.maxAudioSeconds, timeoutMs: probeTimeoutMs }, 'limits');
        const facts = await inspectAudioHeader(upload, head, sniffed, audioLimits, options.signal);
        return { ...base, sampleRate: facts.sampleRate, channels: facts.channels, ...(facts.durationSeconds === undefined ? {} : { durationSeconds: facts.durationSeconds }) };
      }
      case 'image':
      case 'depth':
      case 'thermal':
        return { ...base, ...(await inspectImage(upload, head, sniffed, checked.maxPixels)) };
      case 'video':
        return { ...base, ...(await inspectVideo(upload, sniffed, checked, probeTimeoutMs, options.signal)) };
      case 'imu':
        return { ...base, ...inspectImu(upload, head, sniffed) };
      case 'embedding':
        throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `Expected the embedding input as a vector of numbers in the request but received ${describeSniffed(sniffed)}`);
    }
  } finally {
    await upload.close();
  }
}

function checkUploadLimits(limits: UploadLimits): Required<Omit<UploadLimits, 'maxVideoSeconds'>> & { maxVideoSeconds: number } {
  if (typeof limits !== 'object' || limits === null) throw new TypeError(`Expected an object for limits but received ${String(limits)}`);
  const resolved = { maxVideoSeconds: DEFAULT_VIDEO_LIMITS.maxDurationSec, ...limits };
  for (const key of ['maxUploadBytes', 'maxAudioSeconds', 'maxPixels', 'maxVideoSeconds'] as const) {
    const value = resolved[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`Expected a positive number for limits.${key} but received ${String(value)}`);
    }
  }
  return resolved;
}

/** The first bytes; past an ID3v2 tag (cover art can make it large) when the file starts with one. */
async function readSniffHead(upload: UploadFile): Promise<Uint8Array> {
  const head = await upload.readHead(HEAD_BYTES);
  const tag = id3v2Length(head);
  return tag > 0 && tag + HEAD_BYTES > head.length && head.length < upload.size ? upload.readHead(tag + HEAD_BYTES) : head;
}

/** decodeImage's format check and size check; sharp reads the header only (no pixel). */
async function inspectImage(upload: UploadFile, head: Uint8Array, sniffed: SniffResult, maxPixels: number): Promise<Pick<UploadInspection, 'width' | 'height'>> {
  assertSupportedImage(sniffed);
  let metadata;
  try {
    metadata = await readImageHeader(head);
  } catch (error) {
    // A header past the first bytes (e.g. a JPEG's size after large EXIF segments): read it all.
    if (head.length >= upload.size) throw error;
    metadata = await readImageHeader(await upload.readAll());
  }
  checkImageSize(metadata.width, metadata.height, maxPixels);
  return { width: metadata.width, height: metadata.height };
}

/** probeVideo's checks (ffprobe: headers only), then the worker's: a duration and a frame rate to place clips. */
async function inspectVideo(upload: UploadFile, sniffed: SniffResult, limits: { maxUploadBytes: number; maxVideoSeconds: number }, timeoutMs: number, signal?: AbortSignal): Promise<Pick<UploadInspection, 'width' | 'height' | 'durationSeconds' | 'frameRate'>> {
  const { format, demuxer } = videoContainer(sniffed);
  const videoLimits = resolveLimits(DEFAULT_VIDEO_LIMITS, { maxBytes: limits.maxUploadBytes, maxDurationSec: limits.maxVideoSeconds, timeoutMs }, 'limits');
  const probe = (path: string) => probeFile(path, { demuxer, timeoutMs, invalidCode: 'VIDEO_INVALID', ...(signal ? { signal } : {}) });
  const info = checkVideo(upload.path !== undefined ? await probe(upload.path) : await withTempFile(await upload.readAll(), probe), format, videoLimits);
  if (info.durationSec === undefined || info.fps === undefined) {
    throw new MediaError('VIDEO_INVALID', 'The video does not state its duration and frame rate, so its clips cannot be placed');
  }
  return { width: info.width, height: info.height, durationSeconds: info.durationSec, frameRate: info.fps };
}

/**
 * The worker reads a .npy (by its magic) with parseImuNpy, anything else as CSV text with
 * parseImuCsv. Here: a .npy's header (dtype, (6, N) shape, data length against the file size),
 * or the first 64 KiB of anything else being UTF-8; the CSV's cells are the worker's to read.
 */
function inspectImu(upload: UploadFile, head: Uint8Array, sniffed: SniffResult): Pick<UploadInspection, 'format' | 'samples'> {
  if (sniffed.format === 'npy') {
    const header = parseNpyHeader(head, IMU_CHANNELS * DEFAULT_IMU_LIMITS.maxSamples, upload.size);
    return { format: 'npy', samples: checkImuShape(header.shape) };
  }
  if (utf8Start(head, head.length < upload.size) === undefined) {
    throw new MediaError('IMU_INVALID', `Expected CSV text or a .npy array for the IMU input but received ${describeSniffed(sniffed)}`);
  }
  return { format: 'csv' };
}

const isUploadModality = (modality: string): modality is UploadModality => (UPLOAD_MODALITIES as readonly string[]).includes(modality);

/**
 * Early refusal: each uploaded file is checked against its input's modality, from its headers
 * only (@a2i/media's inspectUpload, no decoding), before anything is queued. A file whose bytes
 * are no format that modality accepts (a text file sent as audio) is refused with 415
 * MEDIA_UNSUPPORTED_FORMAT; one whose header is over a limit (AUDIO_TOO_LONG, IMAGE_TOO_LARGE,
 * VIDEO_TOO_LONG, ...) or damaged is 422 with the decoder's code (statuses: the error registry,
 * `@a2i/protocol/errors`). Only what a full decode shows fails later, in the worker.
 *
 * `inputs` are the request's resolved inputs (so each file is bound to its modality) and
 * `limits` the ones the worker decodes with, so both sides refuse alike. Returns what the
 * headers said of each file (its size and sniffed format), by input index, for the request echo.
 */
export async function refuseUndecodableUploads(
  inputs: ReadonlyArray<{ modality: string; file?: string | undefined }>,
  limits: UploadLimits,
): Promise<Map<number, { bytes: number; format: string }>> {
  const inspected = new Map<number, { bytes: number; format: string }>();
  for (const [i, input] of inputs.entries()) {
    if (input.file === undefined || !isUploadModality(input.modality)) continue;
    try {
      const inspection = await inspectUpload(input.file, input.modality, limits);
      inspected.set(i, { bytes: inspection.bytes, format: inspection.format });
    } catch (error) {
      // Same code, the message says which input it was.
      if (isMediaError(error)) throw new MediaError(error.code, `inputs.${i}: ${error.message}`);
      throw error;
    }
  }
  return inspected;
}

// ---------------------------------------------------------------- audio headers

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

// ---------------------------------------------------------------- reading an upload in parts

/**
 * An upload read in parts: its size, its first bytes, its last bytes, or (for the formats that
 * need a scan) all of it. Works on a path (the API's multer uploads folder: only what is asked
 * for is read) or on bytes already in memory.
 */
export interface UploadFile {
  size: number;
  /** The path on disk, when the upload came as one (ffprobe reads it there). */
  path: string | undefined;
  /** The first `length` bytes (fewer when the file is shorter). */
  readHead(length: number): Promise<Uint8Array>;
  /** The last `length` bytes (fewer when the file is shorter). */
  readTail(length: number): Promise<Uint8Array>;
  readAll(): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function openUpload(file: string | Uint8Array): Promise<UploadFile> {
  if (file instanceof Uint8Array) {
    return {
      size: file.length,
      path: undefined,
      readHead: async (length) => file.subarray(0, length),
      readTail: async (length) => file.subarray(Math.max(0, file.length - length)),
      readAll: async () => file,
      close: async () => {},
    };
  }
  if (typeof file !== 'string' || file.length === 0) {
    throw new TypeError(`Expected a file path or a Uint8Array for file but received ${file === '' ? 'an empty string' : typeof file}`);
  }
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    return {
      size,
      path: file,
      readHead: (length) => readRange(handle, 0, Math.min(length, size)),
      readTail: (length) => readRange(handle, Math.max(0, size - length), Math.min(length, size)),
      readAll: () => readRange(handle, 0, size),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function readRange(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}
