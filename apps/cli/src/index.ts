export { buildRequest, parseInputFlag, type BuiltRequest, type CliInput } from './build-request.js';
export { generateRemote, embedRemote, ServerAnswerError } from './remote.js';
export { generateLocal } from './local.js';
