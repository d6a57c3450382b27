// Loads the TypeScript tests (node --import=./scripts/test-loader/register.mjs, from .taprc):
// esbuild strips the types, as tsx does for the hub itself, at a small fraction of ts-node's cost.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
