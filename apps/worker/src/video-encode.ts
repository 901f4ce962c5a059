import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import sharp from 'sharp';
import { decodeAudio, encodeMp4, type Mp4Audio } from '@a2i/media';
import { imageUrl, videoPartResultSchema, videoUrl, type GenerationJob, type ImageLink, type JobOutput, type JobStateStore, type VideoLink } from '@a2i/protocol';
import { putFile, readObject, type ObjectStore } from '@a2i/storage';
import { localInputs } from './job-inputs.js';

export interface VideoEncodeDeps {
  store: JobStateStore;
  results: ObjectStore;
  uploads: ObjectStore;
  scratchDir: string;
  resultTtlSeconds: number;
  video: { maxSeconds: number };
}

/** Where each frame's PNG is (the parts' return values), in frame order, and the frames' size. */
interface PartFrames {
  keys: string[];
  width: number;
  height: number;
}

/**
 * The video job's last step (video-processor.ts), once all its parts have completed: the
 * frames, read from the folders the parts' completed runs named (BullMQ keeps exactly one
 * return value per part: the run that held its lock), piped in order into ffmpeg with the
 * recording's sound (decoded again from the upload; a morph has none) as an MP4 (encodeMp4),
 * stored under a folder of this run's own, `<id>/<random>/video.mp4` (+ `frames/<n>.png` when
 * the request asked for its frames). The success is recorded fenced to the job's attempt; a run
 * whose record is refused (canceled, or another run of this step recorded first) removes its
 * folder. Then the parts' frames and the frames bitmap go.
 */
export async function encodeVideo(deps: VideoEncodeDeps, job: Job<GenerationJob>, data: GenerationJob, output: JobOutput, attempt: number, signal: AbortSignal, log: Logger): Promise<{ video: number } | { finished: string }> {
  const id = job.id!;
  const { store, results } = deps;
  const frames = partFrames(await job.getChildrenValues());
  if (!frames) {
    const state = await store.get(id);
    if (state?.status !== 'running') return { finished: state?.status ?? 'expired' };
    throw new Error(`A part of video ${id} stopped without its frames while the video still runs`);
  }
  const encoding = await store.progress(id, { stage: 'encode', step: 0, steps: 1, etaMs: null }, attempt);
  if (!encoding.applied) {
    // canceled (or finished by another run) since its parts ended: nothing to write
    await results.deletePrefix(`${id}/parts/`).catch(() => undefined);
    return { finished: encoding.reason };
  }
  const audio = output.type === 'video' ? await soundOf(deps, data, output.sound, `${id}-${attempt}-encode`, signal) : undefined;
  const folder = `${id}/${randomBytes(6).toString('hex')}`;
  const keep = output.frames;
  const links: ImageLink[] = [];
  async function* rgbFrames(): AsyncIterable<Uint8Array> {
    for (const [index, key] of frames!.keys.entries()) {
      signal.throwIfAborted();
      const png = await readObject(results, key);
      if (!png) throw new Error(`Frame ${index} of video ${id} is missing from ${key}`);
      if (keep) {
        await results.put(`${folder}/frames/${index}.png`, png, { contentType: 'image/png' });
        links.push({ index, url: imageUrl(id, index), width: frames!.width, height: frames!.height, seed: data.options.seed, format: 'png', bytes: png.length });
      }
      yield new Uint8Array(await sharp(png).removeAlpha().raw().toBuffer());
    }
  }
  const scratch = await mkdtemp(join(tmpdir(), 'a2i-video-'));
  let placed = false;
  try {
    const mp4 = join(scratch, 'video.mp4');
    await encodeMp4({ width: frames.width, height: frames.height, fps: output.fps, frames: rgbFrames(), ...(audio ? { audio } : {}), outPath: mp4, signal });
    await putFile(results, `${folder}/video.mp4`, mp4, { contentType: 'video/mp4' });
    placed = true;
    const { size } = await stat(mp4);
    const video: VideoLink = {
      url: videoUrl(id),
      format: 'mp4',
      width: frames.width,
      height: frames.height,
      fps: output.fps,
      frames: frames.keys.length,
      durationSec: audio ? audio.channels[0]!.length / audio.sampleRate : frames.keys.length / output.fps,
      bytes: size,
      audio: audio !== undefined,
    };
    const recorded = await store.succeeded(id, links, deps.resultTtlSeconds, attempt, { video, resultsFolder: folder });
    if (!recorded.applied) {
      if ((await store.get(id))?.resultsFolder !== folder) await results.deletePrefix(`${folder}/`);
      log.info({ reason: recorded.reason }, 'video success not recorded');
      return { finished: recorded.reason };
    }
    log.info({ frames: video.frames, bytes: video.bytes }, 'video succeeded');
    await results.deletePrefix(`${id}/parts/`).catch((error: unknown) => log.warn({ err: error }, 'video parts not removed'));
    await store.forgetFrames(id).catch(() => undefined);
    return { video: video.frames };
  } catch (error) {
    if (!placed || (await store.get(id).catch(() => null))?.resultsFolder !== folder) await results.deletePrefix(`${folder}/`).catch(() => undefined);
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The frames' keys in frame order from the parts' return values; null when a part stopped without frames. */
function partFrames(values: Record<string, unknown>): PartFrames | null {
  const byIndex = new Map<number, string>();
  let size: { width: number; height: number } | null = null;
  for (const value of Object.values(values)) {
    const part = videoPartResultSchema.parse(value);
    if ('stopped' in part) return null;
    size = { width: part.width, height: part.height };
    for (const index of part.frames) byIndex.set(index, `${part.folder}/${index}.png`);
  }
  const keys = Array.from({ length: byIndex.size }, (_, i) => byIndex.get(i));
  if (!size || keys.some((key) => key === undefined)) throw new Error(`Expected frames 0..${byIndex.size - 1} from the video's parts but some are missing`);
  return { keys: keys as string[], ...size };
}

/** The recording's sound, decoded again from the job's upload (a local copy from object storage). */
async function soundOf(deps: VideoEncodeDeps, data: GenerationJob, index: number, label: string, signal: AbortSignal): Promise<Mp4Audio> {
  const inputs = await localInputs([data.inputs[index]!], deps.uploads, deps.scratchDir, label);
  try {
    const bytes = await readFile(inputs.items[0]!.file!);
    const pcm = await decodeAudio(bytes, { limits: { maxBytes: Math.max(bytes.length, 1), maxDurationSec: deps.video.maxSeconds }, signal });
    return { sampleRate: pcm.sampleRate, channels: pcm.channels };
  } finally {
    await inputs.release();
  }
}
