// Loads the TypeScript tests (node --import=./scripts/test-loader/register.mjs, from .taprc):
// esbuild strips the types, as tsx does for the hub itself, at a small fraction of ts-node's cost.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
// Worker threads start without it: hub/threads/thread-pool.ts imports this file in each thread,
// so that one file is compiled one way in the whole process (the coverage report merges by file).
process.env.PROXYHUB_TS_LOADER = import.meta.url;
