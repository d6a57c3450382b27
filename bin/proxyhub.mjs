#!/usr/bin/env node
// The proxyhub command: the compiled build in dist/ when it is current, else the TypeScript
// sources through tsx (so a checkout works without a build step, and never runs stale code).
import { buildIsCurrent } from '../scripts/build-state.mjs';

let main;
if (buildIsCurrent()) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
