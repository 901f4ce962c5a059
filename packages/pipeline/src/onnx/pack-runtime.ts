import * as ort from 'onnxruntime-node';
import {
  ClipTokenizer,
  encoderFromSession,
  type Encoder,
  parseAudioPreprocess,
  parseImagePreprocess,
  parseImuPreprocess,
  parseTextPreprocess,
  parseVideoPreprocess,
} from '@a2i/imagebind';
import {
  checkPack,
  compareSignature,
  graphSignatures,
  loadPack,
  PackError,
  promptSource,
  sessionFailureMessage,
  type DecoderSettings,
  type EncoderEntry,
  type LoadedPack,
  type PackProblem,
} from '@a2i/model-pack';
import { createScheduler, prepareDecoder, preparePrior, SCHEDULER_NAMES, type DecoderManifest, type DecoderModel, type PriorManifest, type PriorModel, type SchedulerName, type SharedCallPolicy } from '@a2i/unclip';
import { ConfigError, type Modality } from '@a2i/protocol';
import { encoderFor, type Preprocessors } from './input-decoding.js';
import { PromptEncoder } from './prompt-encoder.js';
import { sharedEncoder } from './shared-encoder.js';
import { sessionOptionsFor, type OnnxRuntimeConfig } from './runtime-config.js';

/** Everything a pack needs at run time, opened once when the worker starts. */
export interface PackRuntime {
  pack: LoadedPack;
  /** Dimension of the space the decoder takes. */
  dim: number;
  /** Sessions by encoder key (vision, text, audio, depth, thermal, imu): those the served modalities need. */
  encoders: Map<string, Encoder>;
  /** The input modalities served (A2I_MODALITIES); null: all the pack has. */
  modalities: readonly Modality[] | null;
  preprocessors: Preprocessors;
  videoLayout: 'frames' | 'clips';
  /** T of a vision graph taking clips [-1, 3, T, S, S]; 1 for one frame per row. */
  visionFrames: number;
  /** The decoder's sessions with its manifest section, resolved and checked once. */
  decoder: DecoderModel;
  /** The prior's session with its manifest section, resolved and checked once. */
  prior: PriorModel | null;
  /** The decoder's resolved defaults (scheduler, steps, guidance, noise level). */
  decoderSettings: DecoderSettings;
  decoderScheduler: SchedulerName;
  priorScheduler: SchedulerName | null;
  /**
   * A prompt's token hidden states for the decoder's prompt conditioning, if it has one: the
   * pack's promptEncoder (Stable unCLIP: SD 2.1's text model, its own tokenizer) or the
   * encoder `decoder.promptConditioning.encoder` names (the demo pack: "text").
   */
  promptEncoder: PromptEncoder | null;
  release(): Promise<void>;
}

/** Runs a manifest-section parser of another package; its error becomes a pack problem. */
function section<T>(problems: PackProblem[], where: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    problems.push({ code: 'PACK_MANIFEST_INVALID', where, message: (error as Error).message });
    return undefined;
  }
}

function schedulerName(problems: PackProblem[], name: string, where: string): SchedulerName | undefined {
  if ((SCHEDULER_NAMES as readonly string[]).includes(name)) return name as SchedulerName;
  problems.push({ code: 'PACK_MANIFEST_INVALID', where, message: `Expected one of ${SCHEDULER_NAMES.join(', ')} for ${where} but received ${JSON.stringify(name)}` });
  return undefined;
}

/**
 * Opens a pack for generation, checking all of it first, so that a bad pack stops the worker
 * at start with a message naming the problem (a PackError), never at the first job:
 *
 * 1. checkPack: manifest, files, checksums (when configured), spaces;
 * 2. every section the other packages read (preprocess, tokenizer, schedulers, noise
 *    augmentation, preview) parsed by those packages;
 * 3. every ONNX session created with the configured options and compared with the manifest
 *    (names, types, fixed dimensions); of the encoders, only those `modalities` need (and the
 *    prompt's source, which conditions every generation): null, all of them.
 */
export async function openPackRuntime(
  packDir: string,
  config: OnnxRuntimeConfig,
  modalities: readonly Modality[] | null = null,
  /**
   * shareAcrossJobs: the prior, UNet and VAE calls of the generations running at once are shared
   * (continuous batching); unetCallPolicy: how a shared UNet call is filled (every seat unless set).
   */
  sampling: { shareAcrossJobs?: boolean; unetCallPolicy?: SharedCallPolicy | undefined } = {},
): Promise<PackRuntime> {
  const report = await checkPack(packDir, { verifyChecksums: config.verifyChecksums, openSessions: false });
  if (!report.ok) throw new PackError(report.dir, report.problems);
  const pack = await loadPack(packDir);
  const { manifest, settings } = pack;
  const decoder = manifest.decoder;
  const decoderSettings = settings.decoder;
  if (!decoder || !decoderSettings) {
    throw new PackError(report.dir, [{ code: 'PACK_NO_DECODER', where: 'decoder', message: 'This pack has encoders only (no decoder section): it can embed but not generate. Assemble it with a decoder export (models/recipes/assemble_pack.py) to serve it.' }]);
  }
  const problems: PackProblem[] = [];
  const wanted = wantedEncoders(modalities, Object.keys(manifest.encoders), manifest.name);

  // 2. sections, parsed by the packages that use them
  const preprocessors: Preprocessors = {};
  const encoders = Object.entries(manifest.encoders) as Array<[string, EncoderEntry]>;
  for (const [key, entry] of encoders) {
    const where = `encoders.${key}.preprocess`;
    const pre = entry.preprocess;
    switch (pre.type) {
      case 'image':
      case 'depth':
      case 'thermal': {
        const parsed = section(problems, where, () => parseImagePreprocess(pre, where));
        if (parsed && (key === 'vision' || key === 'depth' || key === 'thermal')) preprocessors[key] = parsed;
        break;
      }
      case 'audio':
        preprocessors.audio = section(problems, where, () => parseAudioPreprocess(pre, where));
        break;
      case 'imu':
        preprocessors.imu = section(problems, where, () => parseImuPreprocess(pre, where));
        break;
      case 'video':
        preprocessors.video = section(problems, where, () => parseVideoPreprocess(pre, where));
        break;
      case 'text': {
        const textPre = section(problems, where, () => parseTextPreprocess(pre, where));
        if (textPre) {
          try {
            preprocessors.text = await ClipTokenizer.fromPack(pack.dir, textPre);
          } catch (error) {
            problems.push({ code: 'PACK_MANIFEST_INVALID', where: `${where}.tokenizer`, message: (error as Error).message });
          }
        }
        break;
      }
      default:
        problems.push({ code: 'PACK_MANIFEST_INVALID', where: `${where}.type`, message: `Expected a preprocess type this server knows (image, depth, thermal, audio, imu, video, text) for ${where}.type but received ${JSON.stringify(pre.type)}` });
    }
  }
  // the prompt's source (checkPack found it) and its tokenizer: the text encoder's, or its own
  const prompt = promptSource(manifest);
  let promptTokenizer: ClipTokenizer | undefined;
  if (prompt && prompt.entry.preprocess.type !== 'text') {
    problems.push({ code: 'PACK_MANIFEST_INVALID', where: 'decoder.promptConditioning.encoder', message: `Expected a text encoder for decoder.promptConditioning.encoder (prompts are tokenized) but ${prompt.where} has a ${JSON.stringify(prompt.entry.preprocess.type)} preprocess` });
  } else if (prompt?.where === 'encoders.text') {
    promptTokenizer = preprocessors.text;
  } else if (prompt) {
    const where = `${prompt.where}.preprocess`;
    const textPre = section(problems, where, () => parseTextPreprocess(prompt.entry.preprocess, where));
    if (textPre) {
      try {
        promptTokenizer = await ClipTokenizer.fromPack(pack.dir, textPre);
      } catch (error) {
        problems.push({ code: 'PACK_MANIFEST_INVALID', where: `${where}.tokenizer`, message: (error as Error).message });
      }
    }
  }
  const decoderManifest = { ...decoder, limits: settings.limits } satisfies DecoderManifest;
  const priorManifest = manifest.prior ? ({ ...manifest.prior, limits: settings.limits } satisfies PriorManifest) : null;
  const decoderScheduler = schedulerName(problems, decoderSettings.scheduler, 'decoder.defaults.scheduler');
  if (decoderScheduler) section(problems, 'decoder.scheduler', () => createScheduler(decoderScheduler, decoderManifest.scheduler, {}, 'decoder.scheduler').setTimesteps(decoderSettings.steps));
  let priorScheduler: SchedulerName | null = null;
  if (priorManifest && settings.prior) {
    priorScheduler = schedulerName(problems, settings.prior.scheduler, 'prior.defaults.scheduler') ?? null;
    const name = priorScheduler;
    if (name) section(problems, 'prior.scheduler', () => createScheduler(name, priorManifest.scheduler, {}, 'prior.scheduler').setTimesteps(settings.prior!.steps));
  }
  if (problems.length > 0) throw new PackError(pack.dir, problems);

  // 3. sessions, one at a time (peak memory), each compared with the manifest
  const options = sessionOptionsFor(config);
  const sessions = new Map<string, ort.InferenceSession>();
  const releaseAll = async () => {
    for (const session of sessions.values()) await session.release().catch(() => undefined);
  };
  for (const signature of graphSignatures(manifest)) {
    const encoderKey = signature.part.startsWith('encoders.') ? signature.part.slice('encoders.'.length) : null;
    if (encoderKey !== null && wanted !== null && !wanted.has(encoderKey) && signature.part !== prompt?.where) continue;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(pack.resolve(signature.file), options);
    } catch (error) {
      problems.push({ code: 'PACK_SESSION_FAILED', where: signature.file, message: `onnxruntime could not open ${signature.file} (${signature.part}, ${config.executionProvider}): ${sessionFailureMessage(error, config.executionProvider)}` });
      continue;
    }
    sessions.set(signature.part, session);
    problems.push(...compareSignature(session, signature));
  }
  // 4. the samplers' sections (noise augmentation, preview, tensor names), resolved once
  const decoderModel = problems.length > 0 ? undefined : section(problems, 'decoder', () => prepareDecoder(sessions.get('decoder.unet')!, sessions.get('decoder.vae')!, decoderManifest, sampling));
  const priorSession = sessions.get('prior');
  const priorModel = priorManifest && priorSession && problems.length === 0 ? section(problems, 'prior', () => preparePrior(priorSession, priorManifest, sampling)) : undefined;
  if (problems.length > 0 || !decoderModel) {
    await releaseAll();
    throw new PackError(pack.dir, problems);
  }

  const runners = new Map<string, Encoder>();
  for (const [key, entry] of encoders) {
    const session = sessions.get(`encoders.${key}`);
    if (wanted !== null && !wanted.has(key)) continue; // open only as the prompt's source
    if (session && entry.input && entry.output && entry.postprocess) {
      const runner = encoderFromSession(session, key, {
        input: { ...entry.input, dtype: entry.input.dtype ?? 'float32' },
        output: { ...entry.output, dtype: 'float32' },
        space: entry.space,
        postprocess: entry.postprocess,
      });
      // continuous batching: the jobs that embed at the same moment share the encoder's calls
      runners.set(key, sampling.shareAcrossJobs ? sharedEncoder(runner) : runner);
    }
  }
  const visionRank = manifest.encoders.vision?.input?.shape.length;
  const promptSession = prompt ? sessions.get(prompt.where) : undefined;
  const promptEncoder = prompt && promptSession && promptTokenizer && prompt.entry.input && prompt.entry.hiddenStates
    ? new PromptEncoder(promptSession, promptTokenizer, { where: prompt.where, inputName: prompt.entry.input.name, hiddenStates: prompt.entry.hiddenStates })
    : null;
  return {
    pack,
    dim: manifest.spaces[decoder.space]!.dim,
    decoderSettings,
    encoders: runners,
    modalities,
    preprocessors,
    videoLayout: visionRank === 5 ? 'clips' : 'frames',
    visionFrames: visionRank === 5 ? Math.max(1, manifest.encoders.vision!.input!.shape[2] ?? 1) : 1,
    decoder: decoderModel,
    prior: priorModel ?? null,
    decoderScheduler: decoderScheduler!,
    priorScheduler,
    promptEncoder,
    release: releaseAll,
  };
}

/**
 * The encoder keys the served modalities need (image and video: vision); null: every encoder.
 * A modality the pack has no encoder for is the operator's mistake: the worker stops at start.
 */
function wantedEncoders(modalities: readonly Modality[] | null, packEncoders: readonly string[], packName: string): Set<string> | null {
  if (modalities === null) return null;
  const keys = new Set(modalities.filter((m) => m !== 'embedding').map((m) => encoderFor(m)));
  const missing = [...keys].filter((key) => !packEncoders.includes(key));
  if (missing.length > 0) {
    throw new ConfigError(`Expected A2I_MODALITIES to name modalities pack ${packName} has encoders for (${packEncoders.join(', ')}) but it needs ${missing.join(', ')}`);
  }
  return keys;
}
