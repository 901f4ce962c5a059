import { openAsBlob } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, GenerationCreated, ImageLink, ServerToClientEvents } from '@a2i/protocol';
import { ERROR_CODES, faultOf, isErrorCode, type CodedErrorLike, type Fault } from '@a2i/protocol/errors';
import type { BuiltRequest } from './build-request.js';
import { createProgressDisplay } from './progress-display.js';

/**
 * The server's answer when it is not a success, as the CLI received it. It follows the
 * coded-error contract by shape (`@a2i/protocol/errors`): `code` is the server's (any
 * string: a newer server may know codes this CLI does not), `fault` the registry's for a
 * known code, else read from the HTTP status (5xx: the server's).
 */
export class ServerAnswerError extends Error implements CodedErrorLike {
  override readonly name = 'ServerAnswerError';
  readonly fault: Fault;
  constructor(
    readonly code: string,
    message: string,
    httpStatus?: number,
  ) {
    super(message);
    this.fault = isErrorCode(code) ? faultOf(code) : httpStatus !== undefined && httpStatus < 500 ? 'input' : 'server';
  }
}

/** The server's JSON answer; a refusal becomes a ServerAnswerError with its code. */
export async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let body: T & { error?: { code: string; message: string } };
  try {
    body = (text ? JSON.parse(text) : {}) as typeof body;
  } catch {
    throw new ServerAnswerError('HTTP_' + response.status, `Expected a JSON answer from ${response.url} but received ${JSON.stringify(text.slice(0, 80))}`, response.status);
  }
  if (!response.ok) throw new ServerAnswerError(body.error?.code ?? 'HTTP_' + response.status, body.error?.message ?? response.statusText, response.status);
  return body;
}

/**
 * fetch() against the server; a server that cannot be reached is named by its URL (the
 * person's next step: start it, or point --server / $A2I_SERVER elsewhere).
 */
export async function serverFetch(server: string, path: string, init: RequestInit = {}): Promise<Response> {
  const url = new URL(path, server);
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ServerAnswerError(
      ERROR_CODES.CONNECT_ERROR,
      `Cannot reach the server at ${url.origin} (${cause?.code ?? cause?.message ?? (error as Error).message}); is it running? Start it with \`npm start\`, or point --server or $A2I_SERVER at it`,
    );
  }
}

/** A multipart body: the `request` JSON field + one part per local file. */
export async function multipartOf(request: unknown, files: BuiltRequest['files']): Promise<FormData> {
  const form = new FormData();
  form.set('request', JSON.stringify(request));
  for (const file of files) form.set(file.part, await openAsBlob(file.path), file.filename);
  return form;
}

const multipart = (built: BuiltRequest) => multipartOf(built.request, built.files);

export function headers(apiKey?: string): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/** Sends the request, follows the job over socket.io with a progress bar, saves the images. */
export async function generateRemote(server: string, built: BuiltRequest, out: string, options: { apiKey?: string; progress: boolean }): Promise<string[]> {
  const created = await answer<GenerationCreated>(await serverFetch(server, '/v1/generations', { method: 'POST', body: await multipart(built), headers: headers(options.apiKey) }));
  const display = createProgressDisplay(options.progress);
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(server, { auth: { jobId: created.id, token: created.token }, transports: ['websocket'] });
  const links = await new Promise<ImageLink[]>((resolve, reject) => {
    socket.on('connect_error', (error) => reject(new ServerAnswerError((error as { data?: { code?: string } }).data?.code ?? ERROR_CODES.CONNECT_ERROR, error.message)));
    socket.on('job:queued', ({ position }) => display.note(`queued${position ? ` at position ${position}` : ''}`));
    socket.on('job:progress', (p) => display.update(p));
    socket.on('job:succeeded', ({ images }) => resolve(images));
    socket.on('job:failed', ({ code, message }) => reject(new ServerAnswerError(code, message)));
    socket.on('job:canceled', () => reject(new ServerAnswerError(ERROR_CODES.CANCELED, 'The generation was canceled')));
  }).finally(() => {
    display.stop();
    socket.close();
  });
  await mkdir(out, { recursive: true });
  const saved: string[] = [];
  for (const link of links) {
    const response = await serverFetch(server, link.url, { headers: { 'x-job-token': created.token } });
    if (!response.ok) await answer(response);
    const path = join(out, `${created.id}-${link.index}.${link.format === 'jpeg' ? 'jpg' : link.format}`);
    await writeFile(path, Buffer.from(await response.arrayBuffer()));
    saved.push(path);
  }
  return saved;
}

export async function embedRemote(server: string, built: BuiltRequest, apiKey?: string): Promise<unknown> {
  return answer(await serverFetch(server, '/v1/embeddings', { method: 'POST', body: await multipart({ ...built, request: { inputs: built.request.inputs } }), headers: headers(apiKey) }));
}
