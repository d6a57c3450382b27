// Module hooks for the tests: every .ts file under the checkout is compiled by esbuild, with an
// inline source map that carries the original text (sourcesContent), which the coverage report
// needs to map V8's byte ranges back to TypeScript lines. (tsx's maps carry `sourcesContent:
// [null]`, which the report takes for the source itself.) Types are only stripped here; tsc
// --noEmit checks them once for the whole tree.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const TYPESCRIPT = /\.[cm]?ts$/;
const tsconfigRaw = { compilerOptions: { target: 'ES2022', verbatimModuleSyntax: true, useDefineForClassFields: true } };

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !TYPESCRIPT.test(new URL(url).pathname)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, 'utf8'), { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', sourcesContent: true, sourcefile: path, tsconfigRaw });
  return { format: 'module', source: code, shortCircuit: true };
}
