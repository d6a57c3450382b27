/**
 * Writes the documents generated from the contracts (OpenAPI per listener, AsyncAPI, JSON Schema
 * per message) and removes schema files no message has any more.
 * Run: node --import tsx scripts/docs.ts
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedDocuments, SCHEMA_DIR } from '../cli/generated-docs.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const files = await generatedDocuments();
let changed = 0;
for (const [path, content] of files) {
  const target = join(ROOT, path);
  if (existsSync(target) && readFileSync(target, 'utf8') === content) continue;
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  changed += 1;
  console.log(`wrote ${path}`);
}
for (const name of readdirSync(join(ROOT, SCHEMA_DIR))) {
  if (!files.has(`${SCHEMA_DIR}/${name}`)) {
    rmSync(join(ROOT, SCHEMA_DIR, name));
    changed += 1;
    console.log(`removed ${SCHEMA_DIR}/${name}`);
  }
}
console.log(changed === 0 ? 'generated documents are up to date' : `${changed} document(s) updated`);
