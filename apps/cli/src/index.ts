export { buildRequest, parseInputFlag, type BuiltRequest, type CliInput } from './build-request.js';
export { generateRemote, embedRemote, ServerAnswerError } from './remote.js';
export { generateLocal } from './local.js';
export { CollectionsClient, type CollectionView, type SearchHit, type ClassifyAnswer } from './collections-client.js';
export { collectIndexFiles, parseKeyValues, type IndexFile } from './index-files.js';
export { addToIndex, type IndexAddReport } from './index-add.js';
export { formatTable, searchTable, classifyTable } from './result-tables.js';
