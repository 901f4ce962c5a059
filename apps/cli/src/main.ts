import { existsSync, readFileSync } from 'node:fs';
import { A2iClient, A2iError } from '@a2i/client';
import { ERROR_CODES } from '@a2i/protocol/errors';
import { MODALITIES } from '@a2i/protocol';
import { buildRequest, parseInputFlag, type BuiltRequest, type CliInput } from './build-request.js';
import { COMMAND_USAGE, parseCommandLine, stringFlag, stringsFlag, UsageError, type Invocation } from './cli-options.js';
import { generateRemote } from './generate-remote.js';
import { embedLocal, generateLocal } from './local.js';
import { clientFilesOf } from './request-files.js';
import { numberFlag, requestOptionsOf, type RequestOptions } from './request-options.js';
import { runSearchCommand } from './search-commands.js';
import { videoOutputOf } from './video-options.js';
import { videoRemote } from './video-remote.js';

type Run = Extract<Invocation, { kind: 'run' }>;

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The input flags, in the order they were given, as a request (file parts checked to exist). */
function inputRequest(run: Run, options: RequestOptions = {}): BuiltRequest {
  const inputs: CliInput[] = run.tokens.flatMap((token) =>
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

async function execute(run: Run): Promise<number> {
  const { command, values } = run;
  const apiKey = stringFlag(values, 'api-key') ?? process.env.A2I_API_KEY;
  const client = () => new A2iClient({ server: stringFlag(values, 'server') ?? process.env.A2I_SERVER ?? 'http://127.0.0.1:8080', ...(apiKey ? { apiKey } : {}) });
  const progress = values.quiet !== true && process.stderr.isTTY === true;
  const local = values.local === true;
  if (command === 'search' || command === 'classify' || command === 'index') {
    const k = numberFlag(values, 'k', true, command);
    return runSearchCommand(command, run.positionals, {
      client: client(),
      inputRequest: () => inputRequest(run),
      json: values.json === true,
      progress,
      k,
      filter: stringsFlag(values, 'filter'),
      modality: stringFlag(values, 'modality'),
      labels: stringsFlag(values, 'labels'),
      description: stringFlag(values, 'description'),
      metadata: stringsFlag(values, 'metadata'),
      textFiles: values['text-files'] === true,
      usage: COMMAND_USAGE[command],
    });
  }
  if (run.positionals.length > 0) throw new UsageError(`unexpected argument ${run.positionals[0]}`, COMMAND_USAGE[command]);
  if (command === 'embed') {
    const built = inputRequest(run);
    const answer = local ? await embedLocal(built) : await client().embed({ inputs: built.request.inputs }, await clientFilesOf(built.files));
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    return 0;
  }
  if (command === 'video') {
    const built = inputRequest(run, { ...requestOptionsOf(values), output: videoOutputOf(values) });
    const framesDir = stringFlag(values, 'frames');
    const out = stringFlag(values, 'out');
    const saved = await videoRemote(client(), built, { progress, ...(out !== undefined ? { out } : {}), ...(framesDir !== undefined ? { framesDir } : {}) });
    process.stdout.write(`${saved.join('\n')}\n`);
    return 0;
  }
  const options = requestOptionsOf(values);
  if (local && options.webhook) throw new UsageError('--webhook needs a server: a local run has no queue to call back from', COMMAND_USAGE.generate);
  const built = inputRequest(run, options);
  const out = stringFlag(values, 'out') ?? '.';
  const saved = local ? await generateLocal(built, out, { progress }) : await generateRemote(client(), built, out, { progress });
  process.stdout.write(`${saved.join('\n')}\n`);
  return 0;
}

/** What a person reads when a command fails: the unreachable URL, the server's code, or the message. */
function describeFailure(error: unknown): string {
  if (error instanceof A2iError && error.code === ERROR_CODES.CONNECT_ERROR && error.connect) {
    return `cannot reach the server at ${error.connect.url} (${error.connect.cause}); is it running? Start it with \`npm start\`, or point --server or $A2I_SERVER at it`;
  }
  const { code } = error as { code?: unknown };
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
}

async function main(args: string[]): Promise<number> {
  try {
    const invocation = parseCommandLine(args);
    if (invocation.kind === 'help') return void process.stdout.write(`${invocation.text}\n`), 0;
    if (invocation.kind === 'version') return void process.stdout.write(`${VERSION}\n`), 0;
    return await execute(invocation);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`a2i: ${error.message}\n\n${error.usage}\n`);
      return 2;
    }
    process.stderr.write(`a2i: ${describeFailure(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
