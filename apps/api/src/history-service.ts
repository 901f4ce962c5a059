import { ERROR_CODES, type GenerationHistory, type JobState, type JobStateStore, type OwnerJobIndex } from '@a2i/protocol';
import { ApiError } from './api-error.js';
import type { GenerationService } from './generation-service.js';
import { historyPage, parseHistoryQuery, type HistoryKey } from './history-page.js';
import { canAccess, type Credentials } from './job-access.js';

/** At most this many `<id>.<token>` pairs in X-Job-Tokens (about 6.7 kB of header). */
export const MAX_PRESENTED_TOKENS = 100;

export interface HistoryDeps {
  apiKeys: readonly string[];
  store: JobStateStore;
  index: OwnerJobIndex;
  service: GenerationService;
}

/**
 * GET /v1/generations: the caller's generations, newest first, a page at a time.
 * - With API keys (A2I_API_KEYS): the jobs created with the caller's key, from its index
 *   (OwnerJobIndex); ids whose job has expired are dropped from the index as they are met.
 * - Without: there are no accounts, and a job's token is the only proof that a job is the
 *   caller's, so the caller presents the tokens it holds (X-Job-Tokens: <id>.<token>,...) and
 *   gets those of the jobs that still exist; a pair that does not match is left out silently,
 *   as GET /v1/generations/:id would not tell it exists either.
 * Ingest jobs are not generations and are never listed.
 */
export class HistoryService {
  constructor(private readonly deps: HistoryDeps) {}

  async list(query: unknown, credentials: Credentials, presentedTokens: string | undefined): Promise<GenerationHistory> {
    const parsed = parseHistoryQuery(query);
    const { service, store } = this.deps;
    const load = (ids: string[]) => Promise.all(ids.map((id) => store.get(id))).then((states) => states.map((state) => (state && state.kind === undefined ? state : null)));
    let page;
    if (this.deps.apiKeys.length > 0) {
      service.requireApiKey(credentials);
      const owner = credentials.apiKeyHash!;
      page = await historyPage(await this.deps.index.list(owner), parsed, load);
      await this.deps.index.forget(owner, page.expired);
    } else {
      const held = await this.heldJobs(parseTokenPairs(presentedTokens));
      page = await historyPage(held.keys, parsed, async (ids) => ids.map((id) => held.states.get(id) ?? null));
    }
    return { data: await Promise.all(page.states.map((state) => service.statusOf(state))), nextCursor: page.nextCursor };
  }

  /** The jobs whose token the caller presented, that still exist (generations only). */
  private async heldJobs(pairs: Array<{ id: string; token: string }>): Promise<{ keys: HistoryKey[]; states: Map<string, JobState> }> {
    const states = new Map<string, JobState>();
    const found = await Promise.all(pairs.map((pair) => this.deps.store.get(pair.id)));
    for (const [i, state] of found.entries()) {
      if (state && state.kind === undefined && canAccess(state, { token: pairs[i]!.token })) states.set(state.id, state);
    }
    return { keys: [...states.values()].map((state) => ({ id: state.id, createdAt: state.createdAt })), states };
  }
}

/** `<id>.<token>,<id>.<token>,...` (spaces allowed around commas); at most MAX_PRESENTED_TOKENS. */
export function parseTokenPairs(header: string | undefined): Array<{ id: string; token: string }> {
  if (header === undefined || header.trim() === '') return [];
  const items = header.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length > MAX_PRESENTED_TOKENS) {
    throw new ApiError(ERROR_CODES.LIMIT_EXCEEDED, `Expected at most ${MAX_PRESENTED_TOKENS} job tokens in X-Job-Tokens but received ${items.length}`);
  }
  return items.map((item) => {
    const match = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,128})$/.exec(item);
    if (!match) throw new ApiError(ERROR_CODES.INVALID_REQUEST, 'Expected X-Job-Tokens as <id>.<token> pairs separated by commas');
    return { id: match[1]!, token: match[2]! };
  });
}
