export { startWorker, type RunningWorker } from './worker-app.js';
export { ProgressReporter, type ProgressUpdate } from './progress-reporter.js';
export { sweepExpired, startSweeper } from './result-sweeper.js';
