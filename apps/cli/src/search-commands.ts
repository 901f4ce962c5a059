import type { A2iClient, SearchQuery } from '@a2i/client';
import type { BuiltRequest } from './build-request.js';
import { addToIndex } from './index-add.js';
import { collectIndexFiles, parseKeyValues } from './index-files.js';
import { UsageError } from './cli-options.js';
import { clientFilesOf } from './request-files.js';
import { classifyTable, collectionsTable, searchTable } from './result-tables.js';

export interface SearchCommandOptions {
  client: A2iClient;
  /** The input flags (--audio, --text, ...) as a request, files checked to exist. */
  inputRequest: () => BuiltRequest;
  json: boolean;
  progress: boolean;
  k: number | undefined;
  filter: string[];
  modality: string | undefined;
  labels: string[];
  description: string | undefined;
  metadata: string[];
  textFiles: boolean;
  usage: string;
}

const out = (text: string) => process.stdout.write(`${text}\n`);

function requireName(name: string | undefined, command: string): string {
  if (name === undefined || name === '') throw new TypeError(`Expected a collection name for ${command} but received none`);
  return name;
}

function requireInputs(built: BuiltRequest, command: string): BuiltRequest {
  if (built.request.inputs.length === 0) throw new TypeError(`Expected at least one input for ${command} (--audio FILE, --image FILE, --text TEXT, ...) but received none`);
  return built;
}

/**
 * `a2i search`, `a2i classify` and `a2i index create|add|list|rm` (README "From the command
 * line: a2i"). Returns the exit code: 0, or 1 when some items failed to store; a usage error throws UsageError.
 */
export async function runSearchCommand(command: 'search' | 'classify' | 'index', args: string[], o: SearchCommandOptions): Promise<number> {
  if (command === 'search') {
    const name = requireName(args[0], 'search');
    const built = requireInputs(o.inputRequest(), 'search');
    const request: SearchQuery = { inputs: built.request.inputs };
    if (o.k !== undefined) request.k = o.k;
    if (o.filter.length > 0) request.filter = parseKeyValues(o.filter, 'filter');
    if (o.modality !== undefined) request.modality = o.modality.split(',').map((m) => m.trim());
    const answer = await o.client.search(name, request, await clientFilesOf(built.files));
    out(o.json ? JSON.stringify(answer, null, 2) : searchTable(answer.results));
    return 0;
  }
  if (command === 'classify') {
    const labels = o.labels.flatMap((value) => value.split(',')).map((label) => label.trim()).filter((label) => label !== '');
    if (labels.length === 0) throw new TypeError('Expected labels for --labels (e.g. --labels "a dog,rain,a car") but received none');
    const built = requireInputs(o.inputRequest(), 'classify');
    const answer = await o.client.classify({ inputs: built.request.inputs, labels }, await clientFilesOf(built.files));
    answer.labels.sort((a, b) => b.probability - a.probability);
    out(o.json ? JSON.stringify(answer, null, 2) : classifyTable(answer));
    return 0;
  }

  const [sub, name, ...paths] = args;
  switch (sub) {
    case 'create': {
      const created = await o.client.createCollection(requireName(name, 'index create'), o.description);
      out(o.json ? JSON.stringify(created, null, 2) : `created ${created.name} (${created.pack}, ${created.dim}-d)`);
      return 0;
    }
    case 'list': {
      const collections = await o.client.listCollections();
      out(o.json ? JSON.stringify({ collections }, null, 2) : collectionsTable(collections));
      return 0;
    }
    case 'rm': {
      await o.client.deleteCollection(requireName(name, 'index rm'));
      out(`removed ${name}`);
      return 0;
    }
    case 'add': {
      const collection = requireName(name, 'index add');
      if (paths.length === 0) throw new TypeError('Expected files or directories for index add but received none');
      const metadata = parseKeyValues(o.metadata, 'metadata');
      const { files, skipped } = await collectIndexFiles(paths, { textFiles: o.textFiles });
      for (const file of skipped) process.stderr.write(`skipping ${file.path}: ${file.reason}\n`);
      const report = await addToIndex(o.client, collection, files, { metadata, progress: o.progress });
      for (const failure of report.failed) process.stderr.write(`failed ${failure.path}: ${failure.code}: ${failure.message}\n`);
      if (o.json) out(JSON.stringify(report, null, 2));
      else out(`${collection}: stored ${report.stored.length}, already there ${report.skipped.length}, failed ${report.failed.length}, left out ${skipped.length} (not media)`);
      return report.failed.length > 0 ? 1 : 0;
    }
    default:
      throw new UsageError(sub === undefined ? 'expected index create, add, list or rm' : `unknown index command ${sub}`, o.usage);
  }
}
