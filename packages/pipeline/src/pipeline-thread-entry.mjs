// Entry of the pipeline worker thread. Node's worker threads do not inherit tsx's loader,
// so the thread registers it itself, then runs the TypeScript module.
import { tsImport } from 'tsx/esm/api';

await tsImport('./pipeline-thread.ts', import.meta.url);
