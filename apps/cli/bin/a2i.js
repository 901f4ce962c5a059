#!/usr/bin/env node
// The `a2i` command: runs src/main.ts through tsx's ESM loader (the workspace ships TypeScript
// sources, no build step). Linked at node_modules/.bin/a2i by `npm install`; `npm i -g ./apps/cli`
// puts it on the PATH elsewhere.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
