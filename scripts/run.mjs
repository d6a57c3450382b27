#!/usr/bin/env node
// The commands of the README, with their own set-up: `node scripts/run.mjs start|test|bench`.
// This entry only checks the Node.js version, in syntax an old Node still parses, so that it says
// what to install instead of failing on a SyntaxError; scripts/setup.mjs does the rest.
import { readFileSync } from 'fs';
import { aptCandidate, nodeVersionMessage } from './node-version.mjs';

const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const problem = nodeVersionMessage(process.versions.node, engines.node, null);
if (problem) {
  // Asked again with the system's packages in view only now: apt-cache takes a moment.
  const advice = nodeVersionMessage(process.versions.node, engines.node, aptCandidate());
  process.stderr.write(`proxyhub setup: ${advice.split('\n').join('\nproxyhub setup: ')}\n`);
  process.exit(1);
}
import('./setup.mjs');
