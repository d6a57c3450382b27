/**
 * The documents in docs/ generated from the contracts (OpenAPI per listener, AsyncAPI 3.0, JSON
 * Schema per message) are the ones the contracts generate now, and they are valid: the AsyncAPI
 * document by the AsyncAPI parser, the OpenAPI documents by the OpenAPI 3.1 schema. Both
 * validators are shown to refuse a broken document, so a pass means something.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { Validator } from '@seriousme/openapi-schema-validator';
import t from 'tap';
import { generatedDocuments, REGENERATE_COMMAND, SCHEMA_DIR } from '../../cli/generated-docs.ts';
import { routeTables } from '../../cli/plan.ts';
import { eventRegistry } from '../../contracts/events/registry.ts';
import { controlRouteDocs } from '../../contracts/http/control-route-docs.ts';
import { ingressRouteDocs } from '../../contracts/http/ingress-route-docs.ts';
import { routeKey } from '../../contracts/http/route-docs.ts';
import { featureBindings, rpcQueueNames } from '../../contracts/topology.ts';
import { loadConfig } from '../../hub/config/load.ts';
import { openApiPath } from '../../hub/http/openapi.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const files = await generatedDocuments();
const tables = await routeTables(loadConfig({}));
const parse = (path: string): Record<string, unknown> => JSON.parse(files.get(path) ?? '{}') as Record<string, unknown>;

async function asyncApiErrors(document: unknown): Promise<string[]> {
  const { diagnostics } = await new Parser().parse(JSON.stringify(document));
  const error: number = DiagnosticSeverity.Error;
  return diagnostics.filter((d) => Number(d.severity) === error).map((d) => `${d.path.join('.')}: ${d.message}`);
}

async function openApiErrors(document: object): Promise<unknown> {
  const validator = new Validator();
  const result = await validator.validate(document as Record<string, unknown>);
  return result.valid ? [] : result.errors;
}

t.test('the committed documents are what the contracts generate', async (t) => {
  for (const [path, content] of files) {
    const target = join(ROOT, path);
    const committed = existsSync(target) ? readFileSync(target, 'utf8') : '(missing)';
    t.ok(committed === content, `${path} is current (regenerate with: ${REGENERATE_COMMAND})`);
  }
  const stale = readdirSync(join(ROOT, SCHEMA_DIR)).filter((name) => !files.has(`${SCHEMA_DIR}/${name}`));
  t.strictSame(stale, [], `no schema file without a message (regenerate with: ${REGENERATE_COMMAND})`);
});

t.test('the AsyncAPI document is valid AsyncAPI 3.0 and the parser refuses a broken one', async (t) => {
  const document = parse('docs/proxyhub.asyncapi.json');
  t.equal(document.asyncapi, '3.0.0');
  t.strictSame(await asyncApiErrors(document), []);
  const broken = structuredClone(document) as { operations: Record<string, { channel: unknown }> };
  const first = Object.keys(broken.operations)[0] ?? '';
  (broken.operations[first] as { channel: unknown }).channel = { $ref: '#/channels/no-such-channel' };
  t.ok((await asyncApiErrors(broken)).length > 0, 'a dangling channel reference is an error');
});

t.test('the AsyncAPI document covers every event, binding and RPC queue', async (t) => {
  const document = parse('docs/proxyhub.asyncapi.json') as { channels: Record<string, { messages: Record<string, unknown> }>; components: { messages: Record<string, unknown> } };
  for (const type of Object.keys(eventRegistry)) t.ok(document.components.messages[type], `message ${type}`);
  for (const [feature, types] of Object.entries(featureBindings)) {
    t.strictSame(Object.keys(document.channels[`work.${feature}`]?.messages ?? {}), [...types], `work queue of ${feature}`);
    t.ok(document.channels[`dead-letters.${feature}`], `dead letters of ${feature}`);
  }
  for (const name of rpcQueueNames) t.ok(Object.keys(document.channels[`rpc.${name}`]?.messages ?? {}).length > 0, `requests of ${name} are described`);
  for (const type of Object.keys(eventRegistry)) t.ok(files.has(`${SCHEMA_DIR}/${type}.json`), `JSON Schema of ${type}`);
});

t.test('each OpenAPI document is valid OpenAPI 3.1 and the validator refuses a broken one', async (t) => {
  for (const listener of ['ingress', 'control'] as const) {
    const document = parse(`docs/${listener}.openapi.json`);
    t.equal(document.openapi, '3.1.0');
    t.strictSame(await openApiErrors(document), [], `${listener}`);
  }
  const broken = { ...parse('docs/ingress.openapi.json'), paths: { '/x': { get: { responses: { 200: { content: 'not an object' } } } } } };
  t.not(await openApiErrors(broken), [], 'a response without a description is refused');
});

t.test('each OpenAPI document lists every route of its listener, and every route doc names a real route', async (t) => {
  for (const [listener, docs] of [['ingress', ingressRouteDocs], ['control', controlRouteDocs]] as const) {
    const paths = parse(`docs/${listener}.openapi.json`).paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    const routes = tables[listener];
    for (const route of routes) t.ok(paths[openApiPath(route.url)]?.[route.method.toLowerCase()], `${listener}: ${route.method} ${route.url}`);
    const served = new Set(routes.map((route) => routeKey(route.method, route.url)));
    t.strictSame(Object.keys(docs).filter((key) => !served.has(key)), [], `${listener}: no doc entry for a route the listener does not serve`);
    // A route without an entry is still documented (from its guard and schemas) and says so; a
    // branch that adds routes need not add words before its documents are regenerated.
    const undescribed = routes.filter((route) => !docs[routeKey(route.method, route.url)]).map((route) => routeKey(route.method, route.url));
    if (undescribed.length > 0) t.comment(`${listener}: routes with no entry in contracts/http/${listener}-route-docs.ts: ${undescribed.join(', ')}`);
  }
});

t.test('upload answers are documented: 202, 4xx problem+json, 503 with Retry-After', async (t) => {
  const facts = (parse('docs/ingress.openapi.json').paths as Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }> }>>)['/api/hosts/facts']?.post;
  t.ok(facts?.responses['202']?.content?.['application/json'], '202 with the event id');
  t.ok(facts?.responses['400']?.content?.['application/problem+json'], '400 problem+json');
  t.ok(facts?.responses['403']?.content?.['application/problem+json'], '403 problem+json');
  t.ok(facts?.responses['503']?.headers?.['Retry-After'], '503 with Retry-After');
  t.match(JSON.stringify(facts?.responses['503']), /PROXYHUB_BUS_UNAVAILABLE/);
});
