/**
 * The client routes of the ingress listener, for its OpenAPI document (see route-docs.ts). Bodies
 * the ingress validates itself are named by their contract schema; answers a worker makes
 * (Foreman's, the registry's, the rex worker's) are passed through and described in words.
 */
import { z } from 'zod';
import { v1UpdateSchema } from '../rex/host-rpc.ts';
import { acceptedResponse, publishProblems, rpcProblems, observabilityRouteDocs, openApiRouteDoc, type RouteDoc, type RouteDocs } from './route-docs.ts';

const uploadProblems = [...publishProblems, 'PROXYHUB_INPUT_TOO_LARGE', 'PROXYHUB_INPUT_MEDIA_TYPE', 'PROXYHUB_INPUT_MALFORMED', 'PROXYHUB_AUTH_HOST_MISMATCH'] as const;

const factsUpload: RouteDoc = {
  summary: 'Upload a host’s facts (Puppet ENC node.rb, Ansible callback)',
  description: 'Foreman’s own facts payload. `name` (and `certname`) must be the client certificate’s CN unless the client is a relay client (PROXYHUB_RELAY_CLIENTS). Published as `facts.uploaded.v1`.',
  responses: { 202: acceptedResponse },
  problems: uploadProblems,
};

const foremanAnswer = (what: string): RouteDoc['responses'] => ({
  200: { description: `Foreman’s answer, passed through with its status and media type (${what}).`, contentType: '*/*' },
});

const registration: RouteDoc = {
  summary: 'Registration script and host registration, answered by Foreman through the registration worker',
  description: 'The `Authorization` header (registration token) and the query are passed on; Foreman checks them.',
  responses: foremanAnswer('a shell script for GET, the registration result for POST'),
  problems: [...rpcProblems, 'PROXYHUB_FOREMAN_UNAVAILABLE'],
};

const template = (what: string): RouteDoc => ({
  summary: `${what}, rendered by Foreman through the registration worker`,
  description: 'Foreman finds the host by the client address (sent as X-Forwarded-For) or by the `token` query parameter.',
  responses: foremanAnswer('the rendered template'),
  problems: [...rpcProblems, 'PROXYHUB_FOREMAN_UNAVAILABLE'],
});

const policyFile = (what: string): RouteDoc => ({
  summary: `SCAP ${what} of a policy, fetched from Foreman by the openscap worker and cached by digest`,
  responses: {
    200: { description: `The ${what} file.`, contentType: 'application/xml' },
    404: { description: 'Foreman’s refusal (no such policy or file), passed through.' },
  },
  problems: ['PROXYHUB_INPUT_INVALID', ...rpcProblems],
});

const hostReply = (what: string): RouteDoc['responses'] => ({ 200: { description: `${what}, as the rex worker answers it.`, contentType: 'application/json' }, 404: { description: 'No such job for this host.' } });

const pullJob = (summary: string, what: string): RouteDoc => ({
  summary,
  description: 'foreman_ygg_worker (pull-mqtt mode). The job must have been launched for the client certificate’s CN.',
  responses: hostReply(what),
  problems: ['PROXYHUB_BUS_UNAVAILABLE', 'PROXYHUB_RPC_NO_WORKER', 'PROXYHUB_RPC_TIMEOUT'],
});

const publicKey = (what: string): RouteDoc => ({
  summary: `The ${what} (open: registration snippets fetch it before a host has a certificate)`,
  responses: { 200: { description: `The ${what} in OpenSSH format.`, contentType: 'text/plain' }, 404: { description: 'No such key configured.' } },
  problems: ['PROXYHUB_BUS_UNAVAILABLE', 'PROXYHUB_RPC_NO_WORKER', 'PROXYHUB_RPC_TIMEOUT'],
});

const registry = (summary: string): RouteDoc => ({
  summary,
  description: 'Container gateway (Katello’s smart_proxy_container_gateway), answered by `worker:container_gateway`. Errors use the registry error format; a refused request carries `WWW-Authenticate`.',
  responses: {
    200: { description: 'The registry’s answer (manifest, tag list, catalog, token, search result).', contentType: '*/*' },
    307: { description: 'A blob: a redirect to the upstream registry.' },
    401: { description: 'Authentication required (with `WWW-Authenticate`).', contentType: 'application/json' },
    404: { description: 'Unknown or not permitted repository, in the registry error format.', contentType: 'application/json' },
  },
  problems: ['PROXYHUB_BUS_UNAVAILABLE', 'PROXYHUB_RPC_NO_WORKER', 'PROXYHUB_RPC_TIMEOUT', 'PROXYHUB_REGISTRY_UNAVAILABLE'],
});

const rhsm = (method: string): RouteDoc => ({
  summary: `subscription-manager (${method}), answered by Katello through \`worker:rhsm\``,
  description:
    'Forwarded with the proxy’s certificate; the host’s verified certificate goes in X-RHSM-SSL-CLIENT-CERT (a client-sent copy is dropped). On consumer routes the UUID must be the certificate’s CN. Package profiles, tracer, enabled_repos and facts-only consumer updates made with the host’s certificate are answered 202 once the broker confirmed them and delivered later, only the newest per consumer. Katello’s own statuses (204, 304, 410 with deletedId) pass through; the hub never answers 410 itself.',
  responses: {
    200: { description: 'Katello’s answer, status, ETag/Last-Modified and body passed through unchanged.', contentType: 'application/json' },
    202: { description: 'An asynchronous upload accepted (durable on the broker).', contentType: 'application/json' },
  },
  problems: ['PROXYHUB_AUTH_HOST_MISMATCH', 'PROXYHUB_INPUT_INVALID', 'PROXYHUB_INPUT_MALFORMED', 'PROXYHUB_INPUT_MEDIA_TYPE', 'PROXYHUB_INPUT_TOO_LARGE', 'PROXYHUB_RHSM_UNAVAILABLE', ...rpcProblems],
});

export const ingressRouteDocs: RouteDocs = {
  'GET /openapi.json': openApiRouteDoc,
  ...observabilityRouteDocs,
  'GET /healthz': {
    summary: 'Whether this ingress can accept uploads (its broker connection)',
    responses: {
      200: { description: 'Ready.', schema: z.object({ role: z.literal('ingress'), broker: z.string() }) },
      503: { description: 'Not ready: the broker connection is not up.', schema: z.object({ role: z.literal('ingress'), broker: z.string() }) },
    },
  },
  'POST /api/hosts/facts': factsUpload,
  'POST /api/v2/hosts/facts': factsUpload,
  'POST /reports/:format': {
    summary: 'Upload a config report (smart_proxy_reports: Puppet as YAML, Ansible as JSON)',
    description: '`host` must be the client certificate’s CN unless the client is a relay client. `json_body=false` sends Foreman the report as an object instead of a JSON string. Published as `report.uploaded.v1`.',
    body: { contentTypes: ['application/x-yaml', 'application/json'], schema: z.looseObject({ host: z.string() }), description: 'Puppet: the report YAML (Ruby-tagged) as `application/x-yaml`; Ansible: the callback’s JSON.' },
    responses: { 202: acceptedResponse },
    problems: [...uploadProblems, 'PROXYHUB_PARSE_QUEUE_FULL'],
  },
  'POST /compliance/arf/:policy_id': {
    summary: 'Upload an OpenSCAP ARF report (foreman_scap_client)',
    description: 'The body is the bzip2-compressed ARF XML, kept as sent. The client certificate’s CN names the host. Published as `openscap.arf.uploaded.v1`.',
    body: { contentTypes: ['text/xml', 'application/xml', 'application/octet-stream'], description: 'bzip2 bytes (`Content-Encoding: x-bzip2`).' },
    responses: { 202: { description: acceptedResponse.description, schema: z.object({ id: z.string(), result: z.string() }) } },
    problems: [...publishProblems, 'PROXYHUB_INPUT_INVALID', 'PROXYHUB_INPUT_TOO_LARGE', 'PROXYHUB_INPUT_MEDIA_TYPE', 'PROXYHUB_INPUT_MALFORMED'],
  },
  'GET /compliance/policies/:policy_id/content/:digest': policyFile('content'),
  'GET /compliance/policies/:policy_id/tailoring/:digest': policyFile('tailoring'),
  'GET /register': registration,
  'POST /register': registration,
  'GET /unattended/templateServer': template('The template server URL'),
  'GET /unattended/:kind': template('A provisioning template'),
  'POST /unattended/:kind': template('A provisioning template (built/failed notifications)'),
  'GET /unattended/:kind/:template/:hostgroup': template('A host group template'),
  'GET /userdata/:kind': template('Cloud-init userdata'),
  'GET /ssh/pubkey': publicKey('REX public key'),
  'GET /ssh/ca_pubkey': publicKey('REX SSH CA public key'),
  'GET /ssh/jobs': pullJob('Pull-mode jobs waiting for this host', 'The jobs'),
  'GET /ssh/jobs/:uuid': pullJob('Fetch a pull-mode job’s script', 'The script'),
  'GET /ssh/jobs/:uuid/cancel': pullJob('Whether a pull-mode job was cancelled', 'The cancel state'),
  'POST /ssh/jobs/:uuid/update': {
    ...pullJob('Report a pull-mode job’s output and exit', 'The acknowledgement'),
    body: { contentTypes: ['application/json'], schema: v1UpdateSchema, description: 'foreman_ygg_worker’s `version: "1"` updates; older clients send the unversioned `{output, type, exit_code}`.' },
    problems: ['PROXYHUB_INPUT_INVALID', 'PROXYHUB_INPUT_TOO_LARGE', ...rpcProblems],
  },
  'GET /v2': registry('Registry API version check (`/v2/`)'),
  'GET /v2/*': registry('Registry API: token, catalog, tags, manifests, blobs'),
  'PUT /v2/*': registry('Refused: the registry is read-only'),
  'POST /v2/*': registry('Refused: the registry is read-only'),
  'PATCH /v2/*': registry('Refused: the registry is read-only'),
  'DELETE /v2/*': registry('Refused: the registry is read-only'),
  'GET /v1/_ping': registry('Registry v1 ping'),
  'GET /v1/_ping/': registry('Registry v1 ping'),
  'GET /v1/search': registry('Registry v1 search'),
  'GET /v1/search/': registry('Registry v1 search'),
  'GET /index/static': registry('Flatpak index'),
  'GET /index/static/': registry('Flatpak index'),
  ...Object.fromEntries(['GET', 'POST', 'PUT', 'DELETE'].flatMap((method) => [[`${method} /rhsm`, rhsm(method)], [`${method} /rhsm/*`, rhsm(method)]])),
};
