import { writeFile } from 'node:fs/promises';

/** A bench's command-line number (`--name raw`) as a positive integer, or a TypeError naming the flag. */
export function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`Expected a positive integer for --${name} but received ${raw}`);
  return value;
}

/** A bench's result as JSON: to `--json PATH` when given (run.ts reads it), else to stdout. */
export async function writeReport(result: Record<string, unknown>, jsonPath: string | undefined): Promise<void> {
  const text = JSON.stringify(result, null, 1);
  if (jsonPath) await writeFile(jsonPath, text);
  else console.log(text);
}
