import { IMAGE_FORMATS, PRIORITIES, PRIOR_MODES, WEBHOOK_EVENTS, type GenerationRequestInput, type NeighborsRequest } from '@a2i/protocol';
import { SCHEDULER_NAMES } from '@a2i/protocol/scheduler-names';
import { stringFlag, UsageError, type ParsedArgs } from './cli-options.js';

export type RequestOptions = Omit<GenerationRequestInput, 'inputs'>;

/** A value the flag cannot take: the message and where the options are listed (not the whole usage). */
export const optionsHint = (command: string) => `a2i ${command} --help lists the options and their values`;
const refuse = (message: string, command = 'generate') => new UsageError(message, optionsHint(command));

/** A number flag; `integer` refuses fractions (the server would too, later and less plainly). */
export function numberFlag(values: ParsedArgs['values'], name: string, integer = false, command = 'generate'): number | undefined {
  const raw = stringFlag(values, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw refuse(`Expected ${integer ? 'a whole number' : 'a number'} for --${name} but received ${JSON.stringify(raw)}`, command);
  }
  return value;
}

function oneOf<T extends string>(values: ParsedArgs['values'], name: string, allowed: readonly T[]): T | undefined {
  const raw = stringFlag(values, name);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw refuse(`Expected one of ${allowed.join(', ')} for --${name} but received ${JSON.stringify(raw)}`);
  return raw as T;
}

/** `--neighbors NAME[:K][@WEIGHT]`: `birds`, `birds:8`, `birds@0.5`, `birds:8@0.5`. */
export function parseNeighbors(raw: string): NeighborsRequest {
  const match = /^([^:@\s]+)(?::(\d+))?(?:@(-?\d+(?:\.\d+)?))?$/.exec(raw);
  if (!match) throw refuse(`Expected NAME[:K][@WEIGHT] for --neighbors (e.g. birds:8@0.5) but received ${JSON.stringify(raw)}`);
  return { collection: match[1]!, k: match[2] === undefined ? 4 : Number(match[2]), weight: match[3] === undefined ? 1 : Number(match[3]) };
}

/** Every request option a flag can set (README "The request"), checked for shape here; the server checks the rest. */
export function requestOptionsOf(values: ParsedArgs['values']): RequestOptions {
  const options: RequestOptions = {};
  const set = <K extends keyof RequestOptions>(key: K, value: RequestOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('steps', numberFlag(values, 'steps', true));
  set('seed', numberFlag(values, 'seed', true));
  set('guidance', numberFlag(values, 'guidance'));
  set('numImages', numberFlag(values, 'images', true));
  set('noiseLevel', numberFlag(values, 'noise-level', true));
  set('previewEvery', numberFlag(values, 'preview-every', true));
  set('format', oneOf(values, 'format', IMAGE_FORMATS));
  set('prior', oneOf(values, 'prior', PRIOR_MODES));
  set('priority', oneOf(values, 'priority', PRIORITIES));
  set('scheduler', oneOf(values, 'scheduler', SCHEDULER_NAMES));
  set('prompt', stringFlag(values, 'prompt'));
  const neighbors = stringFlag(values, 'neighbors');
  if (neighbors !== undefined) options.neighbors = parseNeighbors(neighbors);
  const webhook = stringFlag(values, 'webhook');
  const events = stringFlag(values, 'webhook-events');
  if (events !== undefined && webhook === undefined) throw refuse('Expected --webhook URL with --webhook-events');
  if (webhook !== undefined) {
    const list = (events ?? 'completed').split(',').map((e) => e.trim()).filter((e) => e !== '');
    const unknown = list.find((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (unknown !== undefined || list.length === 0) throw refuse(`Expected events from ${WEBHOOK_EVENTS.join(', ')} for --webhook-events but received ${JSON.stringify(events)}`);
    options.webhook = { url: webhook, events: list as Array<(typeof WEBHOOK_EVENTS)[number]> };
  }
  return options;
}
