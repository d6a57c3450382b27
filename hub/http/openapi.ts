/**
 * A listener's OpenAPI 3.1 document, built from its route table (what the app really serves, with
 * the zod schemas its routes validate with) and the route docs of contracts/http/. A route with no
 * doc entry is still listed, with what its guard and schemas say. Problem answers are derived from
 * the error catalog: each status lists its codes, and a code with a Retry-After says so.
 */
import { errorCatalog, retryAfterOf, type ErrorCode } from '../../contracts/errors.ts';
import { isZodSchema, jsonSchemaOf } from '../../contracts/json-schema.ts';
import { PROBLEM_CONTENT_TYPE, problemSchema } from '../../contracts/http/problem.ts';
import { routeKey, type RouteDoc, type RouteDocs } from '../../contracts/http/route-docs.ts';
import type { RouteEntry } from './route-table.ts';

export type ListenerName = 'ingress' | 'control';

export interface OpenApiOptions {
  readonly listener: ListenerName;
  readonly version: string;
  readonly routes: readonly RouteEntry[];
  readonly docs: RouteDocs;
}

type Json = Record<string, unknown>;

const DEFAULT_PORTS: Record<ListenerName, string> = { ingress: '8443', control: '9090' };
const CLIENTS: Record<ListenerName, string> = {
  ingress: 'hosts (facts, reports, OpenSCAP, registration and templates, REX pull, container clients)',
  control: 'Foreman and Katello (features, REX task API, stored ARF reports, dead letters, capability stream), and operators (the status page)',
};

function schemaOf(schema: unknown, io: 'input' | 'output'): Json {
  return isZodSchema(schema) ? jsonSchemaOf(schema, { io }) : ((schema ?? {}) as Json);
}

/** `/ssh/jobs/:uuid` → `/ssh/jobs/{uuid}`; fastify's `*` wildcard becomes a `{path}` parameter. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

function pathParameters(route: RouteEntry): Json[] {
  const names = [...openApiPath(route.url).matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1] ?? '');
  const declared = isZodSchema(route.schema?.params) ? (jsonSchemaOf(route.schema.params, { io: 'input' }).properties as Record<string, Json> | undefined) : undefined;
  return names.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: declared?.[name] ?? { type: 'string' },
    ...(name === 'path' && route.url.endsWith('*') ? { description: 'The rest of the path, slashes included.' } : {}),
  }));
}

function queryParameters(route: RouteEntry, doc: RouteDoc | undefined): Json[] {
  const source = route.schema?.querystring ?? doc?.query;
  if (!isZodSchema(source)) return [];
  const schema = jsonSchemaOf(source, { io: 'input' });
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries((schema.properties as Record<string, Json> | undefined) ?? {}).map(([name, property]) => ({ name, in: 'query', required: required.has(name), schema: property }));
}

function requestBody(route: RouteEntry, doc: RouteDoc | undefined): Json | undefined {
  if (route.schema?.body !== undefined) return { required: true, content: { 'application/json': { schema: schemaOf(route.schema.body, 'input') } } };
  const body = doc?.body;
  if (body === undefined) return undefined;
  const schema = body.schema === undefined ? {} : jsonSchemaOf(body.schema, { io: 'input' });
  return { required: true, ...(body.description === undefined ? {} : { description: body.description }), content: Object.fromEntries(body.contentTypes.map((type) => [type, { schema }])) };
}

/** Codes any route of a listener can answer, from the hooks every route passes. */
function problemCodes(route: RouteEntry, doc: RouteDoc | undefined): ErrorCode[] {
  const codes = new Set<ErrorCode>(doc?.problems ?? []);
  if (route.guard !== 'open') codes.add('PROXYHUB_AUTH_CERT_REQUIRED');
  if (route.guard === 'trusted_hosts + client certificate') codes.add('PROXYHUB_AUTH_NOT_TRUSTED');
  if (route.schema !== undefined) codes.add('PROXYHUB_INPUT_INVALID');
  if (route.rateLimited) codes.add('PROXYHUB_RATE_LIMITED');
  codes.add('PROXYHUB_OVERLOADED');
  codes.add('PROXYHUB_INTERNAL');
  return [...codes];
}

function problemResponses(codes: readonly ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(errorCatalog[code].status, [...(byStatus.get(errorCatalog[code].status) ?? []), code]);
  const responses: Record<string, Json> = {};
  for (const [status, group] of byStatus) {
    const sorted = [...group].sort();
    responses[String(status)] = {
      description: sorted.map((code) => `\`${code}\`: ${errorCatalog[code].title}`).join('; '),
      ...(sorted.some((code) => retryAfterOf(code) !== undefined) ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } } : {}),
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return responses;
}

function responsesOf(route: RouteEntry, doc: RouteDoc | undefined): Record<string, Json> {
  const responses = problemResponses(problemCodes(route, doc));
  if (doc === undefined) return { default: { description: 'Not described yet: add the route to contracts/http/*-route-docs.ts.' }, ...responses };
  for (const [status, answer] of Object.entries(doc.responses)) {
    const contentType = answer.contentType ?? 'application/json';
    const content = answer.schema === undefined && answer.contentType === undefined ? undefined : { [contentType]: { schema: answer.schema === undefined ? {} : jsonSchemaOf(answer.schema, { io: 'output' }) } };
    const problem = responses[status];
    responses[status] = {
      description: problem === undefined ? answer.description : `${answer.description} Or a problem: ${String(problem.description)}`,
      ...(problem?.headers === undefined ? {} : { headers: problem.headers }),
      ...(content === undefined && problem === undefined ? {} : { content: { ...(content ?? {}), ...(problem?.content ?? {}) } }),
    };
  }
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

function operationOf(route: RouteEntry, doc: RouteDoc | undefined): Json {
  const parameters = [...pathParameters(route), ...queryParameters(route, doc)];
  const body = requestBody(route, doc);
  return {
    operationId: `${route.method.toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+/g, '_')}`,
    summary: doc?.summary ?? `${route.method} ${route.url}`,
    ...(doc?.description === undefined ? {} : { description: doc.description }),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(body === undefined ? {} : { requestBody: body }),
    responses: responsesOf(route, doc),
    ...(route.guard === 'open' ? { security: [] } : { security: [{ clientCertificate: [] }] }),
    'x-proxyhub-guard': route.guard,
  };
}

export function buildOpenApi(options: OpenApiOptions): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const routes = [...options.routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method));
  for (const route of routes) {
    const path = openApiPath(route.url);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operationOf(route, options.docs[routeKey(route.method, route.url)]) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: `proxyhub ${options.listener} listener`,
      version: options.version,
      description: `The ${options.listener} listener, for ${CLIENTS[options.listener]}. Generated from the route table and the zod contracts; errors are RFC 9457 problem+json bodies whose \`code\` is in docs/errors.md.`,
    },
    servers: [{ url: '{scheme}://{host}:{port}', variables: { scheme: { enum: ['https', 'http'], default: 'https' }, host: { default: '127.0.0.1' }, port: { default: DEFAULT_PORTS[options.listener] } } }],
    paths,
    components: {
      schemas: { Problem: jsonSchemaOf(problemSchema, { io: 'output' }) },
      headers: { RetryAfter: { description: 'Seconds to wait before sending the request again.', schema: { type: 'integer', minimum: 0 } } },
      securitySchemes: { clientCertificate: { type: 'mutualTLS', description: 'A client certificate issued by PROXYHUB_TLS_CA; its CN is the host identity (and must be in PROXYHUB_TRUSTED_HOSTS on protected control routes).' } },
    },
  };
}
