import { fileFromPath, type ClientFiles } from '@a2i/client/node';
import type { BuiltRequest } from './build-request.js';

/** The local files of a built request as the client's multipart parts (streamed from disk). */
export async function clientFilesOf(files: BuiltRequest['files']): Promise<ClientFiles> {
  const parts: ClientFiles = {};
  for (const file of files) parts[file.part] = await fileFromPath(file.path, file.filename);
  return parts;
}
