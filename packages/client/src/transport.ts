import { A2iError, connectError } from './a2i-error.js';

/** A file part of a multipart request: bytes (a Blob, or a Uint8Array in Node and browsers alike) and the name the server sees. */
export interface ClientFile {
  data: Blob | Uint8Array;
  /** The file name sent with the part (default: the part's name). */
  name?: string;
  /** Its media type, for a Uint8Array (the server reads the bytes either way). */
  type?: string;
}

/** Multipart part name -> file; a request's input names its part with `file: '<part>'`. */
export type ClientFiles = Record<string, ClientFile>;

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /** The api's base URL; in a browser, default: the page's origin. */
  server?: string;
  /** Sent as `Authorization: Bearer <key>` and in the socket.io handshake. */
  apiKey?: string;
  /** A fetch of your own (tests, proxies); default: the global fetch. */
  fetch?: FetchLike;
}

/** What one call sends: a JSON body, or a multipart body (`request` JSON field + a part per file). */
export interface Body {
  request: unknown;
  files?: ClientFiles | undefined;
}

/** `request` as JSON, or (with files) as the `request` field of a multipart body. */
export function encodeBody(body: Body): { body: string | FormData; headers: Record<string, string> } {
  const parts = Object.entries(body.files ?? {});
  if (parts.length === 0) return { body: JSON.stringify(body.request), headers: { 'content-type': 'application/json' } };
  const form = new FormData();
  form.set('request', JSON.stringify(body.request));
  for (const [part, file] of parts) {
    const blob = file.data instanceof Blob ? file.data : new Blob([file.data as Uint8Array<ArrayBuffer>], file.type ? { type: file.type } : {});
    form.set(part, blob, file.name ?? part);
  }
  return { body: form, headers: {} };
}

/** One call's extras: a body, the job token, more headers. */
export interface CallOptions {
  body?: Body;
  token?: string;
  headers?: Record<string, string>;
}

function defaultServer(): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (origin && origin !== 'null') return origin;
  throw new TypeError('Expected a server URL (new A2iClient({ server: "http://127.0.0.1:8080" })) but received none');
}

/** HTTP to one api: URLs, credentials, the error contract ({ error: { code, message } } -> A2iError). */
export class Transport {
  readonly server: string;
  readonly apiKey: string | undefined;
  private readonly fetchImpl: FetchLike;

  constructor(options: TransportOptions = {}) {
    this.server = (options.server ?? defaultServer()).replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  url(path: string): string {
    return new URL(path, `${this.server}/`).href;
  }

  /** The request's headers: the API key, and the job token when one is given. */
  headers(token?: string): Record<string, string> {
    return { ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}), ...(token ? { 'x-job-token': token } : {}) };
  }

  /** fetch(); a server that cannot be reached becomes CONNECT_ERROR naming its URL. */
  async send(method: string, path: string, options: CallOptions = {}): Promise<Response> {
    const encoded = options.body ? encodeBody(options.body) : undefined;
    const init: RequestInit = { method, headers: { ...this.headers(options.token), ...options.headers, ...encoded?.headers } };
    if (encoded) init.body = encoded.body;
    try {
      return await this.fetchImpl(this.url(path), init);
    } catch (error) {
      throw connectError(new URL(this.url(path)).origin, error);
    }
  }

  /** A refusal (any status but 2xx) as an A2iError with the server's code, status and message. */
  async refusal(response: Response): Promise<A2iError> {
    const text = await response.text();
    try {
      const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (body.error?.code) return new A2iError(body.error.code, body.error.message ?? response.statusText, response.status);
    } catch {
      // not JSON: a proxy's page, say
    }
    return new A2iError(`HTTP_${response.status}`, `Expected an answer from the api at ${response.url || this.server} but received HTTP ${response.status} ${JSON.stringify(text.slice(0, 80))}`, response.status);
  }

  /** The JSON answer of a call; 204 answers undefined. */
  async json<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (!response.ok) throw await this.refusal(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new A2iError(`HTTP_${response.status}`, `Expected a JSON answer from ${response.url} but received ${JSON.stringify(text.slice(0, 80))}`, response.status);
    }
  }

  /** The bytes of an answer (images, item media). */
  async bytes(path: string, token?: string): Promise<{ bytes: Uint8Array; type: string }> {
    const response = await this.send('GET', path, token === undefined ? {} : { token });
    if (!response.ok) throw await this.refusal(response);
    return { bytes: new Uint8Array(await response.arrayBuffer()), type: response.headers.get('content-type') ?? 'application/octet-stream' };
  }
}
