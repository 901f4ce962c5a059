import { defineConfig } from 'vitest/config';

// Two groups, one after the other. `unit`: the packages' own tests (pure functions, small ONNX
// graphs, Redis under their own key prefixes), two files at a time. `integration`: the apps'
// tests and test/ (api and worker processes, fault tests that restart Redis or kill workers,
// quality runs on the demo pack, browsers), one file at a time as before: their time bounds are
// set for a 2-core machine that runs one of them.
const shared = { testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'unit', include: ['packages/*/test/**/*.test.ts'], maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { test: { ...shared, name: 'integration', include: ['apps/*/test/**/*.test.ts', 'test/**/*.test.ts'], maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
