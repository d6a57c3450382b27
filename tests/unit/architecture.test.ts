/**
 * The dependency rule of DESIGN.md §8, checked on the source: every import of every .ts file
 * under contracts/, hub/, workers/ and cli/ (type-only imports included: they couple the code as
 * much as value imports do), and no circular import among those files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LAYERS = ['contracts', 'hub', 'workers', 'cli'] as const;

interface Edge {
  readonly from: string;
  /** A repo-relative file for a relative import, else the package or built-in name. */
  readonly to: string;
  readonly relative: boolean;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function resolveRelative(from: string, specifier: string): string {
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  if (target.endsWith('.ts')) return target;
  const candidates = [target.replace(/\.js$/, '.ts'), `${target}.ts`, `${target}/index.ts`];
  return candidates.find((candidate) => existsSync(join(ROOT, candidate))) ?? target;
}

/** Static imports, `export … from`, and `import('…')` calls, with whether they are type-only. */
function importsOf(file: string, text: string): Edge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const edges: Edge[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean): void => {
    if (specifier === undefined || !ts.isStringLiteralLike(specifier)) return;
    const relative = specifier.text.startsWith('.');
    edges.push({ from: file, to: relative ? resolveRelative(file, specifier.text) : specifier.text, relative, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const allNamedTypes = bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && clause?.name === undefined && bindings.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier, clause?.isTypeOnly === true || allNamedTypes);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The first cycle found by depth-first search, as a path that ends where it starts. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const walk = (node: string): string[] | undefined => {
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    if (state.get(node) === 'done') return undefined;
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = walk(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = walk(node);
    if (cycle) return cycle;
  }
  return undefined;
}

const files = LAYERS.flatMap((layer) => sourceFiles(layer)).sort();
const edges = files.flatMap((file) => importsOf(file, readFileSync(join(ROOT, file), 'utf8')));
const within = (path: string, folder: string): boolean => path === folder || path.startsWith(`${folder}/`);
const show = (e: Edge): string => `${e.from} → ${e.to}${e.typeOnly ? ' (type-only)' : ''}`;

/** Every edge that breaks a rule, shown as `from → to`. */
function violations(predicate: (edge: Edge) => boolean): string[] {
  return edges.filter(predicate).map(show);
}

t.test('the scanner sees every layer and its imports', async (t) => {
  for (const layer of LAYERS) t.ok(files.some((f) => within(f, layer)), `${layer}/ has .ts files`);
  for (const folder of ['hub/bus/amqp091', 'hub/bus/amqp10', 'hub/jobs', 'hub/log', 'hub/codec', 'hub/telemetry']) t.ok(files.some((f) => within(f, folder)), `${folder}/ has .ts files`);
  t.ok(edges.some((e) => e.from === 'hub/bus/event-codec.ts' && e.to === 'contracts/envelope.ts' && e.relative), 'a relative import');
  t.ok(edges.some((e) => e.from === 'contracts/index.ts' && e.to === 'contracts/errors.ts'), 'an export … from');
  t.ok(edges.some((e) => e.from === 'hub/bus/event-codec.ts' && e.to === 'hub/bus/transport.ts' && e.typeOnly), 'an import type');
  t.strictSame(importsOf('x/a.ts', "import { type A, type B } from './b.ts';\nimport { c, type D } from '../c.ts';\nconst m = await import('./m.ts');\n"), [
    { from: 'x/a.ts', to: 'x/b.ts', relative: true, typeOnly: true },
    { from: 'x/a.ts', to: 'c.ts', relative: true, typeOnly: false },
    { from: 'x/a.ts', to: 'x/m.ts', relative: true, typeOnly: false },
  ]);
});

t.test('every relative import resolves to a file', async (t) => {
  t.strictSame(violations((e) => e.relative && !existsSync(join(ROOT, e.to))), []);
});

t.test('contracts imports only zod, node built-ins and other contracts', async (t) => {
  t.strictSame(violations((e) => within(e.from, 'contracts') && !(e.relative ? within(e.to, 'contracts') : e.to === 'zod' || isBuiltin(e.to))), []);
});

t.test('nothing outside cli/ imports cli/', async (t) => {
  t.strictSame(violations((e) => e.relative && within(e.to, 'cli') && !within(e.from, 'cli')), []);
});

t.test('hub/ingress and hub/control never import each other nor workers/', async (t) => {
  const pairs: Array<[string, string]> = [['hub/ingress', 'hub/control'], ['hub/control', 'hub/ingress'], ['hub/ingress', 'workers'], ['hub/control', 'workers']];
  t.strictSame(violations((e) => e.relative && pairs.some(([from, to]) => within(e.from, from) && within(e.to, to))), []);
});

t.test('workers/ never imports hub/ingress or hub/control', async (t) => {
  t.strictSame(violations((e) => e.relative && within(e.from, 'workers') && (within(e.to, 'hub/ingress') || within(e.to, 'hub/control'))), []);
});

/**
 * The folders under hub/ and what each may import besides contracts/ and itself. hub/log,
 * hub/codec, hub/cluster (messages among an ingress's processes) and hub/telemetry (metrics,
 * health, trace context) are leaves every layer may use; hub/bus's two transport folders never import each
 * other, and only the factory at hub/bus's top picks between them.
 */
const HUB_LEAVES = ['hub/log', 'hub/codec', 'hub/cluster', 'hub/telemetry'] as const;
const isLeaf = (path: string): boolean => HUB_LEAVES.some((leaf) => within(path, leaf));
const TRANSPORTS = ['hub/bus/amqp091', 'hub/bus/amqp10'] as const;
const isTransport = (path: string): boolean => TRANSPORTS.some((folder) => within(path, folder));

t.test('hub/ points down: nothing in hub/ imports workers/ or cli/', async (t) => {
  t.strictSame(violations((e) => e.relative && within(e.from, 'hub') && (within(e.to, 'workers') || within(e.to, 'cli'))), []);
});

t.test('hub/bus imports only contracts/, hub/log and hub/bus', async (t) => {
  t.strictSame(violations((e) => e.relative && within(e.from, 'hub/bus') && !within(e.to, 'hub/bus') && !within(e.to, 'contracts') && !within(e.to, 'hub/log')), []);
});

t.test('hub/jobs imports only contracts/, hub/log, hub/jobs and the back-off of hub/bus', async (t) => {
  t.strictSame(violations((e) => e.relative && within(e.from, 'hub/jobs') && !within(e.to, 'hub/jobs') && !within(e.to, 'contracts') && !within(e.to, 'hub/log') && e.to !== 'hub/bus/backoff.ts'), []);
});

t.test('hub/log, hub/codec, hub/cluster and hub/telemetry are leaves: contracts/ and themselves only', async (t) => {
  // hub/cluster imports nothing of proxyhub's, so the others may use it (telemetry sums an ingress's metrics through it).
  t.strictSame(violations((e) => e.relative && isLeaf(e.from) && !within(e.to, 'contracts') && !within(e.to, 'hub/cluster') && !HUB_LEAVES.some((leaf) => within(e.from, leaf) && within(e.to, leaf))), []);
  t.strictSame(violations((e) => e.relative && within(e.from, 'hub/cluster') && !within(e.to, 'hub/cluster')), []);
});

t.test('the two transports never import each other; only the factory names them', async (t) => {
  t.strictSame(violations((e) => e.relative && within(e.from, 'hub/bus/amqp091') && within(e.to, 'hub/bus/amqp10')), []);
  t.strictSame(violations((e) => e.relative && within(e.from, 'hub/bus/amqp10') && within(e.to, 'hub/bus/amqp091')), []);
  // The shared mechanics at hub/bus's top serve both: they name neither.
  t.strictSame(violations((e) => e.relative && within(e.from, 'hub/bus') && !isTransport(e.from) && isTransport(e.to) && e.from !== 'hub/bus/transport-factory.ts'), []);
  // Above hub/bus everything goes through the transport interface (cli/, the composition root, and hub/config's address-scheme list excepted).
  t.strictSame(violations((e) => e.relative && isTransport(e.to) && !within(e.from, 'hub/bus') && !within(e.from, 'cli') && !within(e.from, 'hub/config')), []);
});

t.test('hub/ingress never imports hub/jobs (it only publishes events)', async (t) => {
  t.strictSame(violations((e) => e.relative && within(e.from, 'hub/ingress') && within(e.to, 'hub/jobs')), []);
});

t.test('the cycle finder reports a cycle and passes a DAG', async (t) => {
  t.strictSame(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), ['a', 'b', 'c', 'a']);
  t.equal(findCycle(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), undefined);
});

t.test('no circular import', async (t) => {
  const graph = new Map<string, string[]>(files.map((file) => [file, []]));
  for (const e of edges) if (e.relative && graph.has(e.to)) graph.get(e.from)?.push(e.to);
  const cycle = findCycle(graph);
  t.equal(cycle?.join(' → '), undefined, 'an import cycle');
});

t.test('every proxyhub child a test starts records no coverage (childEnvironment)', async (t) => {
  // A child compiled by tsx that wrote coverage would garble the report for every file it loaded
  // (tests/helpers/hub-harness.ts, childEnvironment, says how).
  const spawnsOfProxyhub = sourceFiles('tests').filter((file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    return /spawn\(process\.execPath, \[[^\]]*'bin\/proxyhub\.mjs'/.test(text) && !/env: childEnvironment\(/.test(text);
  });
  t.strictSame(spawnsOfProxyhub, []);
});
