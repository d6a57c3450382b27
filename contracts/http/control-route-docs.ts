/**
 * The Foreman-facing routes of the control listener, for its OpenAPI document (see route-docs.ts).
 */
import { z } from 'zod';
import { smartProxyFeatures } from '../capabilities.ts';
import { hostListBodySchema, hostMappingBodySchema, repositoryListBodySchema, userMappingBodySchema } from '../container-gateway/tables.ts';
import { launchRequestSchema, taskIdsSchema } from '../rex/launch.ts';
import { capabilitySnapshotSchema } from './capabilities.ts';
import { statusDocumentSchema } from './status-page.ts';
import { observabilityRouteDocs, openApiRouteDoc, type ResponseDoc, type RouteDoc, type RouteDocs } from './route-docs.ts';

const json = (description: string, schema?: z.ZodType): ResponseDoc => (schema === undefined ? { description, contentType: 'application/json' } : { description, schema });

const deadLetterSummarySchema = z.object({
  id: z.string(),
  type: z.string(),
  feature: z.string(),
  code: z.string(),
  reason: z.string(),
  attempts: z.number().int(),
  failedAt: z.string(),
  upstreamStatus: z.number().int().optional(),
});

const v2FeatureSchema = z.object({
  http_enabled: z.boolean(),
  https_enabled: z.boolean(),
  settings: z.record(z.string(), z.unknown()),
  state: z.string(),
  capabilities: z.array(z.string()),
});

const storedArf = (summary: string, answer: ResponseDoc): RouteDoc => ({
  summary,
  description: 'The report Foreman was told about when the openscap worker delivered it (id, host CN, date and digest from that delivery).',
  responses: { 200: answer },
  problems: ['PROXYHUB_ARF_NOT_FOUND', 'PROXYHUB_INPUT_INVALID', 'PROXYHUB_STORAGE_FAILED'],
});

const tablePush = (summary: string, schema: z.ZodType): RouteDoc => ({
  summary: `Katello replaces a container gateway table: ${summary}`,
  body: { contentTypes: ['application/x-www-form-urlencoded', 'application/json'], schema, description: 'Rack-style nested form keys (as Foreman’s ProxyAPI sends a Ruby hash) or the same structure as JSON.' },
  responses: { 200: json('Stored.', z.object({})) },
  problems: ['PROXYHUB_INPUT_INVALID', 'PROXYHUB_INPUT_MALFORMED', 'PROXYHUB_GATEWAY_STORE_UNAVAILABLE'],
});

const dynflowState = z.object({ state: z.string(), result: z.string() });

export const controlRouteDocs: RouteDocs = {
  'GET /openapi.json': openApiRouteDoc,
  ...observabilityRouteDocs,
  'GET /healthz': {
    summary: 'Whether this control process is connected to the broker',
    responses: {
      200: json('Ready.', z.object({ role: z.literal('control'), broker: z.string() })),
      503: json('Not ready: the broker connection is not up.', z.object({ role: z.literal('control'), broker: z.string() })),
    },
  },
  'GET /unattended/templateServer': { summary: 'The template server URL Foreman hands to installers (PROXYHUB_TEMPLATE_URL)', responses: { 200: json('The URL, empty when unset.', z.object({ templateServer: z.string() })) } },
  'GET /version': {
    summary: 'proxyhub’s version and the features running now (smart-proxy `/version`)',
    responses: { 200: json('Version and running features with their versions.', z.object({ version: z.string(), modules: z.record(z.string(), z.string()) })) },
  },
  'GET /features': { summary: 'Running smart-proxy features (smart-proxy `/features`)', responses: { 200: json('Feature names.', z.array(z.enum(smartProxyFeatures))) } },
  'GET /v2/features': {
    summary: 'Every smart-proxy feature with its state, settings and capabilities (smart-proxy `/v2/features`)',
    responses: { 200: json('Features by name.', z.record(z.string(), v2FeatureSchema)) },
  },
  'GET /capabilities': { summary: 'Live features and the instances providing them', responses: { 200: json('The capability snapshot.', capabilitySnapshotSchema) } },
  'GET /capabilities/events': {
    summary: 'Capability changes as Server-Sent Events: `snapshot` first, then one `changed` per change',
    description: '`snapshot` carries the document of `GET /capabilities`, `changed` the data of one `capability.changed.v1`. Resume with `Last-Event-ID`.',
    responses: { 200: { description: 'An event stream that stays open.', contentType: 'text/event-stream' } },
    problems: ['PROXYHUB_SSE_STREAM_LIMIT'],
  },
  'GET /status': {
    summary: 'The live status page (HTML): instances, features, queue and dead-letter depths with their trend, recent failures with reasons, REX jobs in flight',
    description: 'Rendered on the server and kept current by its script through `GET /status/events`; served with a Content-Security-Policy that allows nothing from another origin and no inline script.',
    responses: { 200: { description: 'The page.', contentType: 'text/html' } },
  },
  'GET /status/page.js': { summary: 'The status page’s script', responses: { 200: { description: 'JavaScript, no build step.', contentType: 'text/javascript' } } },
  'GET /status/page.css': { summary: 'The status page’s stylesheet', responses: { 200: { description: 'CSS.', contentType: 'text/css' } } },
  'GET /status/state': { summary: 'What the status page shows, as JSON', responses: { 200: json('The status document.', statusDocumentSchema) } },
  'GET /status/events': {
    summary: 'The status page’s updates as Server-Sent Events: one `status` event per change',
    description: 'Each `status` event carries the page’s tables as rows of text: at once when an instance or feature changes, and after each read of depths, failures and jobs (every 2 s while a page watches).',
    responses: { 200: { description: 'An event stream that stays open.', contentType: 'text/event-stream' } },
    problems: ['PROXYHUB_SSE_STREAM_LIMIT'],
  },
  'GET /status/jobs': { summary: 'The REX job board (bull-board, read-only; job data without scripts or secrets)', responses: { 200: { description: 'The board’s page.', contentType: 'text/html' } } },
  'GET /status/jobs/*': {
    summary: 'The REX job board’s assets and read API (GET only: its actions have no route)',
    responses: { 200: { description: 'The board’s scripts, styles and JSON answers.', contentType: 'application/octet-stream' } },
  },
  'GET /dead-letters': { summary: 'Dead letters of every (or one) feature, oldest first', responses: { 200: json('The dead letters.', z.object({ deadLetters: z.array(deadLetterSummarySchema) })) } },
  'GET /dead-letters/:id': {
    summary: 'One dead letter with its headers and event',
    responses: { 200: json('The dead letter.', deadLetterSummarySchema.extend({ headers: z.record(z.string(), z.unknown()), event: z.unknown() })) },
    problems: ['PROXYHUB_ROUTE_NOT_FOUND'],
  },
  'POST /dead-letters/replay': {
    summary: 'Send dead letters back to their work queue (by id, or all)',
    responses: { 200: json('How many were replayed and how many are left.', z.object({ replayed: z.number().int(), kept: z.number().int() })) },
  },
  'GET /compliance/arf/:id/:cname/:date/:digest/xml': storedArf('A stored ARF report as Foreman downloads it', { description: 'The bzip2-compressed ARF XML.', contentType: 'application/x-bzip2' }),
  'GET /compliance/arf/:id/:cname/:date/:digest/html': {
    ...storedArf('A stored ARF report rendered as HTML by `oscap`', { description: 'The HTML report.', contentType: 'text/html' }),
    problems: ['PROXYHUB_ARF_NOT_FOUND', 'PROXYHUB_INPUT_INVALID', 'PROXYHUB_STORAGE_FAILED', 'PROXYHUB_OSCAP_UNAVAILABLE'],
  },
  'DELETE /compliance/arf/:id/:cname/:date/:digest': {
    ...storedArf('Delete a stored ARF report (deleting one that is not there succeeds)', json('Whether a file was removed.', z.object({ deleted: z.boolean() }))),
  },
  'GET /compliance/spool_errors': { summary: 'Dead-lettered OpenSCAP reports (the smart-proxy’s spool error count)', responses: { 200: json('The count.', z.object({ errors_count: z.number().int() })) } },
  'POST /dynflow/tasks/launch': {
    summary: 'Launch a REX batch: one job per host, answered before any host runs',
    body: { contentTypes: ['application/json'], schema: launchRequestSchema },
    responses: { 200: json('The batch’s task id.', z.object({ parent: z.object({ result: z.literal('success'), task_id: z.string() }) })) },
    problems: ['PROXYHUB_INPUT_INVALID', 'PROXYHUB_INPUT_TOO_LARGE', 'PROXYHUB_REX_UNKNOWN_OPERATION', 'PROXYHUB_REX_STORE_UNAVAILABLE'],
  },
  'POST /dynflow/tasks/:id/cancel': {
    summary: 'Cancel a REX job or every job of a batch',
    responses: { 200: json('How many jobs were asked to stop.', z.object({ task_id: z.string(), canceled_steps_count: z.number().int() })) },
    problems: ['PROXYHUB_INPUT_INVALID', 'PROXYHUB_REX_STORE_UNAVAILABLE'],
  },
  'GET /dynflow/tasks/count': {
    summary: 'How many REX jobs are in a state',
    query: z.object({ state: z.string().optional() }),
    responses: { 200: json('The count.', z.object({ count: z.number().int(), state: z.string() })) },
    problems: ['PROXYHUB_REX_STORE_UNAVAILABLE'],
  },
  'POST /dynflow/tasks/status': {
    summary: 'State and result of jobs and batches by task id',
    body: { contentTypes: ['application/json'], schema: taskIdsSchema },
    responses: { 200: json('By task id; unknown ids are left out.', z.record(z.string(), dynflowState)) },
    problems: ['PROXYHUB_INPUT_INVALID', 'PROXYHUB_REX_STORE_UNAVAILABLE'],
  },
  'POST /dynflow/tasks/statuses': {
    summary: 'Full execution plans of jobs and batches by task id',
    body: { contentTypes: ['application/json'], schema: taskIdsSchema },
    responses: { 200: json('Execution plans by task id, as smart_proxy_dynflow shows them; unknown ids are left out.') },
    problems: ['PROXYHUB_INPUT_INVALID', 'PROXYHUB_REX_NO_TASK_IDS', 'PROXYHUB_REX_STORE_UNAVAILABLE'],
  },
  'GET /dynflow/tasks/:id/status': {
    summary: 'One job’s or batch’s execution plan, with its output',
    responses: { 200: json('The execution plan, as smart_proxy_dynflow shows it.') },
    problems: ['PROXYHUB_INPUT_INVALID', 'PROXYHUB_REX_TASK_NOT_FOUND', 'PROXYHUB_REX_STORE_UNAVAILABLE'],
  },
  'GET /dynflow/tasks/operations': { summary: 'Launch operations this proxy accepts', responses: { 200: json('Operation names.', z.array(z.string())) } },
  'GET /container_gateway/users': {
    summary: 'Users the container gateway knows (Katello compares them with its own)',
    responses: { 200: json('The users.', z.object({ users: z.array(z.unknown()) })) },
    problems: ['PROXYHUB_GATEWAY_STORE_UNAVAILABLE'],
  },
  'PUT /container_gateway/repository_list': tablePush('repositories', repositoryListBodySchema),
  'PUT /container_gateway/user_repository_mapping': tablePush('which users may pull which repositories', userMappingBodySchema),
  'PUT /container_gateway/update_hosts': tablePush('hosts', hostListBodySchema),
  'PUT /container_gateway/host_repository_mapping': tablePush('which hosts may pull which repositories', hostMappingBodySchema),
  'PUT /container_gateway/update_host_repositories': tablePush('repositories of the hosts named (the others kept)', hostMappingBodySchema),
};
