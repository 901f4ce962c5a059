import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, IngestResult, ServerToClientEvents } from '@a2i/protocol';
import { ERROR_CODES } from '@a2i/protocol/errors';
import { answer, headers, ServerAnswerError, serverFetch } from './remote.js';

import type { CollectionView, SearchResultView as SearchHit } from '@a2i/protocol';
export type { CollectionView, SearchHit };

export interface LabelScore {
  label: string;
  score: number;
  logit: number;
  probability: number;
}

export interface ClassifyAnswer {
  labels: LabelScore[];
  logitScale: number;
  logitScaleSource: string;
}

export interface LookupAnswer {
  present: string[];
  limits: { itemsPerRequest: number; filesPerRequest: number };
}

/** The collections routes of one server (README "Search"), each answer typed, each refusal a ServerAnswerError. */
export class CollectionsClient {
  constructor(
    readonly server: string,
    private readonly apiKey?: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: headers(this.apiKey) };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { ...headers(this.apiKey), 'content-type': 'application/json' };
    }
    const response = await serverFetch(this.server, path, init);
    if (response.status === 204) return undefined as T;
    return answer<T>(response);
  }

  private path(name: string, rest = ''): string {
    return `/v1/collections/${encodeURIComponent(name)}${rest}`;
  }

  create(name: string, description?: string): Promise<CollectionView> {
    return this.call('POST', '/v1/collections', description === undefined ? { name } : { name, description });
  }

  async list(): Promise<CollectionView[]> {
    return (await this.call<{ collections: CollectionView[] }>('GET', '/v1/collections')).collections;
  }

  get(name: string): Promise<CollectionView> {
    return this.call('GET', this.path(name));
  }

  drop(name: string): Promise<void> {
    return this.call('DELETE', this.path(name));
  }

  /** Which of `ids` the collection holds (at most 1000 per call), and the per-request limits of an ingest. */
  lookup(name: string, ids: string[]): Promise<LookupAnswer> {
    return this.call('POST', this.path(name, '/items/lookup'), { ids });
  }

  search(name: string, body: FormData): Promise<{ results: SearchHit[] }> {
    return this.call('POST', this.path(name, '/search'), body);
  }

  classify(body: FormData): Promise<ClassifyAnswer> {
    return this.call('POST', '/v1/classify', body);
  }

  /**
   * Sends one ingest request and follows its job over socket.io to the end: `onItem` once per
   * embedded item (job:progress), the job's `{ stored, failed }` when it succeeds.
   */
  async ingest(name: string, body: FormData, onItem: (step: number) => void): Promise<IngestResult> {
    const created = await this.call<{ id: string; token: string }>('POST', this.path(name, '/items'), body);
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(this.server, {
      auth: { jobId: created.id, token: created.token },
      transports: ['websocket'],
      reconnection: false,
    });
    return new Promise<IngestResult>((resolve, reject) => {
      socket.on('connect_error', (error) =>
        reject(new ServerAnswerError((error as { data?: { code?: string } }).data?.code ?? ERROR_CODES.CONNECT_ERROR, `Cannot follow ingest job ${created.id} at ${this.server}: ${error.message}`)),
      );
      socket.on('job:progress', (p) => onItem(p.step));
      socket.on('job:succeeded', ({ ingest }) => (ingest ? resolve(ingest) : reject(new ServerAnswerError(ERROR_CODES.INTERNAL, `Expected an ingest result for job ${created.id} but received none`))));
      socket.on('job:failed', ({ code, message }) => reject(new ServerAnswerError(code, message)));
      socket.on('job:canceled', () => reject(new ServerAnswerError(ERROR_CODES.CANCELED, `Ingest job ${created.id} was canceled`)));
    }).finally(() => socket.close());
  }
}
