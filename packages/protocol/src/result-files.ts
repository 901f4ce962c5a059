import { join } from 'node:path';
import type { ImageFormat } from './generation-request.js';

/** File extension of each result format (the worker writes them, the api serves them). */
export const FORMAT_EXTENSIONS: Record<ImageFormat, string> = { png: 'png', webp: 'webp', jpeg: 'jpg' };

/** Where image `index` of a job lives: `<resultsDir>/<jobId>/<index>.<ext>`. */
export function resultPath(resultsDir: string, jobId: string, index: number, format: ImageFormat): string {
  return join(resultsDir, jobId, `${index}.${FORMAT_EXTENSIONS[format]}`);
}
