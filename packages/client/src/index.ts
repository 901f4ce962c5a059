// @a2i/client: the api's typed client for Node and browsers (no Node-only imports here;
// `@a2i/client/node` adds reading files from paths). The api serves this bundled at /client.js.
export { A2iClient, type EmbeddingAnswer, type ClassifyAnswer, type LookupAnswer, type StoredItem, type IngestCreated, type JobRef, type SearchQuery, type Inputs } from './client.js';
export { A2iError } from './a2i-error.js';
export { followJob, type FollowOptions, type TerminalEvent } from './follow.js';
export { startLive, type LiveOptions, type LiveSession } from './live.js';
export type { ClientFile, ClientFiles, FetchLike, TransportOptions } from './transport.js';
