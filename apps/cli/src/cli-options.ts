import { parseArgs } from 'node:util';
import { MODALITIES } from '@a2i/protocol';

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };
type OptionSpecs = Record<string, OptionSpec>;

export const COMMANDS = ['generate', 'video', 'embed', 'search', 'classify', 'index'] as const;
export type Command = (typeof COMMANDS)[number];
const isCommand = (value: string | undefined): value is Command => (COMMANDS as readonly string[]).includes(value ?? '');

const str = { type: 'string' } as const;
const many = { type: 'string', multiple: true } as const;
const flag = { type: 'boolean' } as const;

const COMMON: OptionSpecs = { server: str, 'api-key': str, help: { type: 'boolean', short: 'h' }, version: flag };
const INPUTS: OptionSpecs = Object.fromEntries(MODALITIES.map((m) => [m, many]));
const GENERATION: OptionSpecs = {
  local: flag,
  out: str,
  quiet: flag,
  steps: str,
  seed: str,
  guidance: str,
  images: str,
  format: str,
  prior: str,
  prompt: str,
  scheduler: str,
  'noise-level': str,
  'preview-every': str,
  priority: str,
  webhook: str,
  'webhook-events': str,
  neighbors: str,
};

/** `a2i video`: the request options a video takes (one video, no previews of steps), and its output's. */
const { local: _local, images: _images, format: _format, 'preview-every': _previewEvery, neighbors: _neighbors, ...VIDEO_REQUEST } = GENERATION;
const VIDEO: OptionSpecs = { ...VIDEO_REQUEST, fps: str, window: str, hop: str, smoothing: str, frames: str, morph: flag, duration: str };

/** Each command's flags: a flag another command takes is an unknown option here. */
export const COMMAND_OPTIONS: Record<Command, OptionSpecs> = {
  generate: { ...COMMON, ...INPUTS, ...GENERATION },
  video: { ...COMMON, ...INPUTS, ...VIDEO },
  embed: { ...COMMON, ...INPUTS, local: flag },
  search: { ...COMMON, ...INPUTS, json: flag, k: { type: 'string', short: 'k' }, filter: many, modality: str },
  classify: { ...COMMON, ...INPUTS, json: flag, labels: many },
  index: { ...COMMON, json: flag, quiet: flag, description: str, metadata: many, 'text-files': flag },
};
const ALL_OPTIONS: OptionSpecs = Object.assign({}, ...Object.values(COMMAND_OPTIONS));

const CONNECTION = `Server:
  --server URL     the api (default $A2I_SERVER or http://127.0.0.1:8080)
  --api-key KEY    sent as a bearer token (default $A2I_API_KEY)
  -h, --help       this help`;
const INPUT_HELP = `Inputs (repeatable; append @<weight> to weigh one, default 1):
  --audio FILE  --image FILE  --video FILE  --depth FILE  --thermal FILE  --imu FILE
  --text TEXT   --embedding FILE.json (a JSON array of numbers)`;

export const USAGE = `Usage: a2i <command> [options]     (a2i <command> --help for its options)
  a2i generate [inputs] [options]   make images (progress bar on stderr; saved paths on stdout)
  a2i video --audio FILE [inputs] [--out FILE.mp4]
                                    a video that follows the sound (or --morph --duration S between the inputs)
  a2i embed [inputs] [--local]      print each input's embedding and their weighted sum (JSON)
  a2i search NAME [inputs] [-k N] [--filter k=v]... [--modality M[,M]] [--json]
                                    the items of collection NAME nearest to the inputs' weighted sum
  a2i classify [inputs] --labels "a dog,rain,a car" [--json]
                                    zero-shot: the labels, most probable first
  a2i index create|add|list|rm ...  collections of stored items (a2i index --help)
  a2i --version                     the version of this command

${INPUT_HELP}
${CONNECTION}`;

export const COMMAND_USAGE: Record<Command, string> = {
  generate: `Usage: a2i generate [inputs] [options]
  Sends a generation, follows it (progress bar on stderr), saves the images; prints their paths.

${INPUT_HELP}
Request options (README "The request"; the pack's defaults when left out):
  --steps N              decoder steps              --seed N            the first image's seed
  --guidance G           classifier-free guidance   --images N          how many images
  --format png|webp|jpeg (default png)              --prior on|off|auto (default auto)
  --prompt TEXT          the decoder's text prompt
  --scheduler ddim|dpmsolver++|euler|pndm|ddpm      the decoder's scheduler
  --noise-level N        noise added to the image embedding (Stable unCLIP's noise_level)
  --preview-every N      a preview every N steps; 0: none (default 5)
  --priority high|normal|low   the queue's order (default normal)
  --webhook URL          POST the job's status to URL (README "Webhooks")
  --webhook-events E,E   which: start, output, logs, completed (default completed)
  --neighbors NAME[:K][@W]     mix in the mean of the K (default 4) nearest stored images
                         of collection NAME, with weight W (default 1)
Output:
  --out DIR              where the images go (default .)
  --quiet                no progress bar
  --local                run the pipeline in this process (A2I_PIPELINE, A2I_PACK_DIR; no server)
${CONNECTION}`,
  video: `Usage: a2i video --audio FILE [inputs] [options] [--out FILE.mp4]
       a2i video --morph --duration S [inputs] [options] [--out FILE.mp4]
  Sends a video request, follows it (progress bar on stderr: the sound's windows, the frames,
  the encode), saves the MP4 (H.264 + the sound as AAC); prints the saved paths.
  The one --audio input is the sound the pictures follow (a video file's soundtrack works too);
  the other inputs (an --image, a --text, with their @weights) are weighed in on every frame.
  --morph: no sound; the video moves from the first input to the last over --duration seconds.

${INPUT_HELP}
Video (README "Sound to video"; the server's defaults when left out):
  --fps N                frames per second (default 8)
  --window S             seconds of sound per embedding (default 2: one ImageBind clip)
  --hop S                seconds between windows (default 0.5)
  --smoothing S          time constant of the smoothing over windows; 0: none (default 0.5)
  --frames DIR           also save every frame as DIR/<n>.png
  --morph                move between the inputs instead (with --duration S)
Request options (as a2i generate): --steps --seed --guidance --prior --prompt --scheduler
  --noise-level --priority --webhook --webhook-events
Output:
  --out FILE             the MP4 (default <id>.mp4)
  --quiet                no progress bar
${CONNECTION}`,
  embed: `Usage: a2i embed [inputs] [--local]
  Prints { dim, vectors, combined }: each input's embedding and their weighted sum, as JSON.

${INPUT_HELP}
  --local          embed in this process (A2I_PIPELINE, A2I_PACK_DIR; no server)
${CONNECTION}`,
  search: `Usage: a2i search NAME [inputs] [options]
  The items of collection NAME nearest to the inputs' weighted sum, best first.

${INPUT_HELP}
  -k N                   how many results
  --filter k=v           metadata filter (repeatable, all must match)
  --modality M[,M]       only items of these modalities
  --json                 the server's answer as JSON
${CONNECTION}`,
  classify: `Usage: a2i classify [inputs] --labels "a dog,rain,a car" [--json]
  Zero-shot classification of the inputs' weighted sum: the labels, most probable first.

${INPUT_HELP}
  --labels L,L           the labels (repeatable)
  --json                 the server's answer as JSON
${CONNECTION}`,
  index: `Usage:
  a2i index create NAME [--description TEXT]
  a2i index add NAME FILE_OR_DIR... [--metadata k=v]... [--text-files] [--quiet]
                         store files (modality from their bytes; id: the path relative to the
                         directory given, or the file's name); ids already stored are skipped,
                         so an interrupted run can simply be run again
  a2i index list [--json]  the collections, with their item counts
  a2i index rm NAME        drop a collection and its items
${CONNECTION}`,
};

/** A command line the CLI cannot act on: printed with the usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export type ParsedArgs = ReturnType<typeof parseArgs<{ options: OptionSpecs; allowPositionals: true; tokens: true }>>;

export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; command: Command; values: ParsedArgs['values']; positionals: string[]; tokens: NonNullable<ParsedArgs['tokens']> };

/** node:util parseArgs' own message, shortened to what a person needs. */
function usageMessage(error: Error & { code?: string }): string {
  const option = /'(-[^']*)'/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) return /argument missing/.test(error.message) ? `option ${option} needs a value` : `option ${option} takes no value`;
  return error.message;
}

/**
 * What the command line asks for. The command is the first word that is not an option's; its
 * flags are then read strictly (COMMAND_OPTIONS), so a typo is refused with the usage (UsageError).
 */
export function parseCommandLine(args: string[]): Invocation {
  const loose = parseArgs({ args, options: ALL_OPTIONS, strict: false, allowPositionals: true });
  const command = loose.positionals[0];
  if (command === 'help') {
    const topic = loose.positionals[1];
    return { kind: 'help', text: isCommand(topic) ? COMMAND_USAGE[topic] : USAGE };
  }
  if (!isCommand(command)) {
    if (loose.values.version === true) return { kind: 'version' };
    if (loose.values.help === true) return { kind: 'help', text: USAGE };
    throw new UsageError(command === undefined ? 'expected a command' : `unknown command ${command}`, USAGE);
  }
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args, options: COMMAND_OPTIONS[command], strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(usageMessage(error as Error), COMMAND_USAGE[command]);
    throw error;
  }
  if (parsed.values.help === true) return { kind: 'help', text: COMMAND_USAGE[command] };
  if (parsed.values.version === true) return { kind: 'version' };
  return { kind: 'run', command, values: parsed.values, positionals: parsed.positionals.slice(1), tokens: parsed.tokens ?? [] };
}

/** A string flag's value (the last one given). */
export function stringFlag(values: ParsedArgs['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string flag's values. */
export function stringsFlag(values: ParsedArgs['values'], name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
