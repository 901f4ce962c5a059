import { parse } from 'csv-parse/sync';
import { assertFinite } from '../finite.js';
import { assertByteSize, DEFAULT_IMU_LIMITS, resolveLimits, type ImuLimits } from '../limits.js';
import { MediaError } from '../media-error.js';
import { npyToFloat32, parseNpy } from '../npy.js';

/**
 * IMU recordings: 6 channels, accelerometer x, y, z (g) then gyroscope x, y, z (deg/s), in that
 * order (ImageBind's IMU input is [6, 2000]: 10 s at 200 Hz; resampling and cropping are the
 * preprocessing's job). Values are taken as they are: no unit conversion.
 */
export interface ImuData {
  /** [6][length] */
  channels: Float32Array[];
  length: number;
}

export const IMU_CHANNELS = 6;

/**
 * CSV (comma, semicolon or tab separated; CRLF or LF; UTF-8 with or without BOM), one of:
 * - one row per sample with 6 columns, with or without a header row (a first row that is not
 *   all numbers is a header: its names are not checked);
 * - 6 rows, one per channel, with the samples across (no header), when there are not exactly
 *   6 columns. A 6 x 6 table is read as 6 samples.
 * "nan", "inf", "-inf" and values beyond float32 are NON_FINITE_VALUE; an empty or non-numeric
 * cell is IMU_INVALID; a ragged table or another column count is IMU_INVALID_SHAPE.
 */
export function parseImuCsv(text: string | Uint8Array, options: { limits?: Partial<ImuLimits> } = {}): ImuData {
  const limits = resolveLimits(DEFAULT_IMU_LIMITS, options.limits, 'limits');
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  assertByteSize(bytes, limits.maxBytes, 'IMU');
  let rows: string[][];
  try {
    const source = typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text);
    rows = parse(source, { bom: true, delimiter: [',', ';', '\t'], trim: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (error) {
    throw new MediaError('IMU_INVALID', `The IMU file is not readable CSV: ${error instanceof Error ? error.message : String(error)}`);
  }
  // A header row is dropped; `firstLine` keeps messages pointing at the file's own line numbers.
  const hasHeader = rows.length > 0 && !rows[0]!.every(isNumberCell);
  if (hasHeader) rows = rows.slice(1);
  const firstLine = hasHeader ? 2 : 1;
  if (rows.length === 0) throw new MediaError('IMU_INVALID', 'The IMU file holds no samples');
  const width = rows[0]!.length;
  rows.forEach((row, r) => {
    if (row.length !== width) throw new MediaError('IMU_INVALID_SHAPE', `Expected ${width} columns in every row of the IMU file but row ${r + firstLine} has ${row.length}`);
  });
  const samplesAsRows = width === IMU_CHANNELS;
  if (!samplesAsRows && rows.length !== IMU_CHANNELS) {
    throw new MediaError('IMU_INVALID_SHAPE', `Expected ${IMU_CHANNELS} columns (acc x,y,z, gyro x,y,z; one row per sample) or ${IMU_CHANNELS} rows (one per channel) but received ${rows.length} rows of ${width} columns`);
  }
  const length = samplesAsRows ? rows.length : width;
  if (length > limits.maxSamples) throw new MediaError('IMU_TOO_LONG', `The IMU recording has ${length} samples, over the limit of ${limits.maxSamples}`);
  const channels = Array.from({ length: IMU_CHANNELS }, () => new Float32Array(length));
  rows.forEach((row, r) => {
    row.forEach((cell, c) => {
      const [channel, index] = samplesAsRows ? [c, r] : [r, c];
      channels[channel]![index] = parseCell(cell, r + firstLine, c + 1);
    });
  });
  channels.forEach((channel, c) => assertFinite(channel, `IMU channel ${c}`));
  return { channels, length };
}

/** A .npy array of shape (6, N), any numeric dtype (converted to float32); NaN / Inf refused. */
export function parseImuNpy(bytes: Uint8Array, options: { limits?: Partial<ImuLimits> } = {}): ImuData {
  const limits = resolveLimits(DEFAULT_IMU_LIMITS, options.limits, 'limits');
  assertByteSize(bytes, limits.maxBytes, 'IMU');
  const array = parseNpy(bytes, IMU_CHANNELS * limits.maxSamples);
  const length = checkImuShape(array.shape);
  const flat = npyToFloat32(array);
  const channels = Array.from({ length: IMU_CHANNELS }, (_, c) => flat.slice(c * length, (c + 1) * length));
  channels.forEach((channel, c) => assertFinite(channel, `IMU channel ${c}`));
  return { channels, length };
}

/** The samples per channel of a (6, N) array; anything else is IMU_INVALID_SHAPE. */
export function checkImuShape(shape: number[]): number {
  const [rows, length] = shape;
  if (shape.length !== 2 || rows !== IMU_CHANNELS || length === undefined || length === 0) {
    throw new MediaError('IMU_INVALID_SHAPE', `Expected an IMU array of shape (6, N) but received (${shape.join(', ')})`);
  }
  return length;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

function isNumberCell(cell: string): boolean {
  return NUMBER.test(cell) || NON_FINITE.test(cell);
}

/** `row` and `column` are 1-based, as a spreadsheet shows them. */
function parseCell(cell: string, row: number, column: number): number {
  if (NON_FINITE.test(cell)) {
    throw new MediaError('NON_FINITE_VALUE', `The IMU file holds ${cell} at row ${row}, column ${column}; only finite numbers are accepted`);
  }
  if (!NUMBER.test(cell)) {
    throw new MediaError('IMU_INVALID', `Expected a number at row ${row}, column ${column} of the IMU file but received ${JSON.stringify(cell.slice(0, 40))}`);
  }
  return Number(cell);
}
