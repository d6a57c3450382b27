/**
 * The catalog holds only codes the code raises or answers: a code nobody uses is a promise in
 * docs/errors.md that no client or operator will ever see. The same scan keeps the error
 * mechanics in one place: no private `Error` subclass outside the catalog (bar the ones listed
 * with their reason) and no `(error as Error)` casts, which `coerceError`/`errorMessage` replace.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { errorCatalog } from '../../contracts/errors.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CATALOG = 'contracts/errors.ts';

/**
 * Subclasses that are control flow inside one module, never seen by a caller, so they carry no
 * code: RubyRaise stands for a Ruby exception its own converter rescues (a ProxyhubError there
 * must not be rescued); Truncated marks, inside the bzip2 decoder, input that ends mid-block;
 * the ARF scanner's Incomplete carries a token to the next chunk, and its NotPlainXml sends the
 * document back to saxes in the ARF parser (which then decides, with catalog errors).
 */
const LOCAL_SIGNALS = new Set(['RubyRaise', 'Truncated', 'Incomplete', 'NotPlainXml']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const sources = ['hub', 'workers', 'cli', 'contracts']
  .flatMap((dir) => sourceFiles(join(root, dir)))
  .map((path) => ({ file: relative(root, path), text: readFileSync(path, 'utf8') }));

t.test('the scan sees the code', async (t) => {
  t.ok(sources.length > 50, `${sources.length} source files`);
  t.ok(sources.some((s) => s.file === CATALOG), 'including the catalog');
});

t.test('every catalog code is raised or answered outside the catalog', async (t) => {
  const others = sources.filter((s) => s.file !== CATALOG);
  const unused = Object.keys(errorCatalog).filter((code) => !others.some((s) => new RegExp(`\\b${code}\\b`).test(s.text)));
  t.strictSame(unused, [], 'codes that nothing in hub/ workers/ cli/ contracts/ uses');
});

t.test('errors are ProxyhubError, not private Error subclasses', async (t) => {
  const subclasses = sources.flatMap((s) =>
    [...s.text.matchAll(/class (\w+) extends Error\b/g)].map((match) => ({ file: s.file, name: match[1] ?? '' })),
  );
  const stray = subclasses.filter((c) => !(c.file === CATALOG && c.name === 'ProxyhubError') && !LOCAL_SIGNALS.has(c.name));
  t.strictSame(stray, [], 'Error subclasses outside contracts/errors.ts');
});

t.test('no (error as Error) casts: coerceError and errorMessage handle unknown throws', async (t) => {
  const casts = sources.flatMap((s) => s.text.split('\n').flatMap((line, index) => (/\bas Error\)/.test(line) ? [`${s.file}:${index + 1}`] : [])));
  t.strictSame(casts, [], 'lines casting to Error');
});
