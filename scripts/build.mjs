#!/usr/bin/env node
// `npm run build`: compiles the runtime to dist/ and stamps it (see build-state.mjs).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, stampFile } from './build-state.mjs';

export function build() {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  const result = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) return false;
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(stampFile, `${new Date().toISOString()}\n`);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(build() ? 0 : 1);
