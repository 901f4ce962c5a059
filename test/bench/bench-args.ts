/** A bench's command-line number (`--name raw`) as a positive integer, or a TypeError naming the flag. */
export function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`Expected a positive integer for --${name} but received ${raw}`);
  return value;
}
