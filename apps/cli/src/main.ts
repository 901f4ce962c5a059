import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { IMAGE_FORMATS, MODALITIES, PRIOR_MODES, type GenerationRequestInput } from '@a2i/protocol';
import { buildRequest, parseInputFlag, type BuiltRequest, type CliInput } from './build-request.js';
import { CollectionsClient } from './collections-client.js';
import { generateLocal } from './local.js';
import { embedRemote, generateRemote } from './remote.js';
import { runSearchCommand } from './search-commands.js';

const USAGE = `Usage:
  a2i generate [inputs] [options]   make images (progress bar on stderr; saved paths on stdout)
  a2i embed [inputs] [options]      print each input's embedding and their weighted sum (JSON)
  a2i search NAME [inputs] [-k N] [--filter k=v]... [--modality M[,M]] [--json]
                                    the items of collection NAME nearest to the inputs' weighted sum
  a2i classify [inputs] --labels "a dog,rain,a car" [--json]
                                    zero-shot: the labels, most probable first
  a2i index create NAME [--description TEXT]
  a2i index add NAME FILE_OR_DIR... [--metadata k=v]... [--text-files]
                                    store files (modality from their bytes; id: the path relative to
                                    the directory given, or the file's name); ids already stored are
                                    skipped, so an interrupted run can simply be run again
  a2i index list [--json]           the collections, with their item counts
  a2i index rm NAME                 drop a collection and its items

Inputs (repeatable; append @<weight> to weigh one, default 1):
  --audio FILE  --image FILE  --video FILE  --depth FILE  --thermal FILE  --imu FILE
  --text TEXT   --embedding FILE.json (a JSON array of numbers)
Options:
  --server URL (default $A2I_SERVER or http://127.0.0.1:8080)  --api-key KEY (or $A2I_API_KEY)
  --local        run the pipeline in this process (no server)  --out DIR (default .)
  --steps N --seed N --guidance G --images N --format png|webp|jpeg --prior on|off|auto --prompt TEXT
  --quiet        no progress bar
  --json         print the server's answer as JSON (search, classify, index list)`;

const inputFlags = Object.fromEntries(MODALITIES.map((m) => [m, { type: 'string' as const, multiple: true as const }]));
const { values, positionals, tokens } = parseArgs({
  allowPositionals: true,
  tokens: true,
  options: {
    ...inputFlags,
    server: { type: 'string' },
    'api-key': { type: 'string' },
    local: { type: 'boolean' },
    out: { type: 'string' },
    steps: { type: 'string' },
    seed: { type: 'string' },
    guidance: { type: 'string' },
    images: { type: 'string' },
    format: { type: 'string' },
    prior: { type: 'string' },
    prompt: { type: 'string' },
    quiet: { type: 'boolean' },
    json: { type: 'boolean' },
    k: { type: 'string', short: 'k' },
    filter: { type: 'string', multiple: true },
    modality: { type: 'string' },
    labels: { type: 'string', multiple: true },
    description: { type: 'string' },
    metadata: { type: 'string', multiple: true },
    'text-files': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

function number(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new TypeError(`Expected a number for --${name} but received ${raw}`);
  return value;
}

/** The input flags, in the order they were given, as a request (file parts checked to exist). */
function inputRequest(options: Omit<GenerationRequestInput, 'inputs'> = {}): BuiltRequest {
  const inputs: CliInput[] = tokens.flatMap((token) =>
    token.kind === 'option' && (MODALITIES as readonly string[]).includes(token.name) && token.value !== undefined ? [parseInputFlag(token.name, token.value)] : [],
  );
  const built = buildRequest(inputs, options, (path) => {
    if (!existsSync(path)) throw new Error(`No such file for --embedding: ${path}`);
    return JSON.parse(readFileSync(path, 'utf8')) as number[];
  });
  for (const file of built.files) {
    if (!existsSync(file.path)) throw new Error(`No such file for --${file.part.replace(/-\d+$/, '')}: ${file.path}`);
  }
  return built;
}

const COMMANDS = new Set(['generate', 'embed', 'search', 'classify', 'index']);

async function run(): Promise<void> {
  const command = positionals[0];
  if (values.help || command === undefined || !COMMANDS.has(command)) {
    process.stdout.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const server = values.server ?? process.env.A2I_SERVER ?? 'http://127.0.0.1:8080';
  const apiKey = values['api-key'] ?? process.env.A2I_API_KEY;
  const progress = !values.quiet && process.stderr.isTTY === true;
  if (command === 'search' || command === 'classify' || command === 'index') {
    const code = await runSearchCommand(command, positionals.slice(1), {
      client: new CollectionsClient(server, apiKey),
      inputRequest,
      json: values.json === true,
      progress,
      k: number('k', values.k),
      filter: values.filter ?? [],
      modality: values.modality,
      labels: values.labels ?? [],
      description: values.description,
      metadata: values.metadata ?? [],
      textFiles: values['text-files'] === true,
      usage: USAGE,
    });
    if (code !== 0) process.exitCode = code;
    return;
  }
  if (values.format !== undefined && !(IMAGE_FORMATS as readonly string[]).includes(values.format)) throw new TypeError(`Expected png, webp or jpeg for --format but received ${values.format}`);
  if (values.prior !== undefined && !(PRIOR_MODES as readonly string[]).includes(values.prior)) throw new TypeError(`Expected on, off or auto for --prior but received ${values.prior}`);
  const options: Omit<GenerationRequestInput, 'inputs'> = {};
  const steps = number('steps', values.steps);
  const seed = number('seed', values.seed);
  const guidance = number('guidance', values.guidance);
  const numImages = number('images', values.images);
  if (steps !== undefined) options.steps = steps;
  if (seed !== undefined) options.seed = seed;
  if (guidance !== undefined) options.guidance = guidance;
  if (numImages !== undefined) options.numImages = numImages;
  if (values.format) options.format = values.format as GenerationRequestInput['format'];
  if (values.prior) options.prior = values.prior as GenerationRequestInput['prior'];
  if (values.prompt) options.prompt = values.prompt;
  const built = inputRequest(options);
  if (command === 'embed') {
    process.stdout.write(`${JSON.stringify(await embedRemote(server, built, apiKey))}\n`);
    return;
  }
  const out = values.out ?? '.';
  const saved = values.local ? await generateLocal(built, out, { progress }) : await generateRemote(server, built, out, { ...(apiKey ? { apiKey } : {}), progress });
  process.stdout.write(`${saved.join('\n')}\n`);
}

run().catch((error: unknown) => {
  const { code } = error as { code?: string };
  process.stderr.write(`a2i: ${code ? `${code}: ` : ''}${(error as Error).message}\n`);
  process.exitCode = 1;
});
