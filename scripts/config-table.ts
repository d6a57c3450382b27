/**
 * Rewrites the configuration table in README.md from the declarations in hub/config/schema.ts.
 * Run: node --import tsx scripts/config-table.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withConfigTable } from '../hub/config/config-table.ts';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const before = readFileSync(README, 'utf8');
const after = withConfigTable(before);
if (after === before) console.log('README.md configuration table is up to date');
else {
  writeFileSync(README, after);
  console.log('README.md configuration table rewritten');
}
