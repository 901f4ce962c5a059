export { buildRequest, parseInputFlag, type BuiltRequest, type CliInput } from './build-request.js';
export { generateRemote } from './generate-remote.js';
export { generateLocal, embedLocal } from './local.js';
export { parseCommandLine, UsageError, USAGE, COMMAND_USAGE } from './cli-options.js';
export { requestOptionsOf, parseNeighbors } from './request-options.js';
export { collectIndexFiles, parseKeyValues, type IndexFile } from './index-files.js';
export { addToIndex, type IndexAddReport } from './index-add.js';
export { formatTable, searchTable, classifyTable } from './result-tables.js';
