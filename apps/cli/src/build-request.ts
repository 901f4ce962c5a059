import { basename } from 'node:path';
import { FILE_MODALITIES, isModality, type GenerationRequestInput, type InputSpec, type Modality } from '@a2i/protocol';

/** One input named on the command line: `--audio dog.wav@0.7`, `--text "a dog@0.3"`, `--embedding v.json`. */
export interface CliInput {
  modality: Modality;
  value: string;
  weight: number;
}

/** Splits an optional trailing `@<weight>` off a flag's value. */
export function parseInputFlag(modality: string, raw: string): CliInput {
  if (!isModality(modality)) throw new TypeError(`Expected a modality but received ${modality}`);
  const match = /^(.*)@(-?\d+(?:\.\d+)?)$/s.exec(raw);
  const value = match ? match[1]! : raw;
  const weight = match ? Number(match[2]) : 1;
  if (value === '') throw new TypeError(`Expected a value for --${modality} but received ${JSON.stringify(raw)}`);
  return { modality, value, weight };
}

export interface BuiltRequest {
  request: GenerationRequestInput;
  /** Multipart part name -> local path. */
  files: Array<{ part: string; path: string; filename: string }>;
}

/**
 * The request the server takes (see apps/api/README.md): files become parts named
 * `<modality>-<n>`, text stays text, an embedding flag names a JSON file holding the vector.
 */
export function buildRequest(inputs: CliInput[], options: Omit<GenerationRequestInput, 'inputs'>, readVector: (path: string) => number[]): BuiltRequest {
  const files: BuiltRequest['files'] = [];
  const specs = inputs.map((input, i): InputSpec => {
    if (input.modality === 'text') return { modality: 'text', text: input.value, weight: input.weight };
    if (input.modality === 'embedding') return { modality: 'embedding', vector: readVector(input.value), weight: input.weight };
    if (!FILE_MODALITIES.has(input.modality)) throw new TypeError(`Expected a file modality but received ${input.modality}`);
    const part = `${input.modality}-${i}`;
    files.push({ part, path: input.value, filename: basename(input.value) });
    return { modality: input.modality, file: part, weight: input.weight };
  });
  return { request: { ...options, inputs: specs }, files };
}
