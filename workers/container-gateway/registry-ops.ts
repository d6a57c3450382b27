/**
 * The registry requests the gateway passes upstream (container-gateway-contract §2), each
 * answered with the registry's status and headers and a small body, or a redirect:
 *
 * - manifests: the upstream's 200 (pulp_container ≥ 2.28, any plain registry) is passed on with
 *   its body, media type and digest; a 3xx (older Pulp) becomes a redirect to the client endpoint;
 * - blobs: always a redirect, never bytes. The upstream's own redirect is passed on with its host
 *   swapped for the client endpoint; where the upstream answered with the bytes itself, the body
 *   is dropped unread and the client is sent to the upstream's client-facing URL of that blob.
 */
import { MAX_REGISTRY_BODY_BYTES, registryErrorBody, type RegistryAnswer, type RegistryRequest } from '../../contracts/container-gateway/registry-rpc.ts';
import type { RegistryClient, UpstreamAnswer } from './registry-client.ts';

export interface UpstreamContext {
  readonly registry: RegistryClient;
  /** The plugin's `client_endpoint`: scheme and authority clients can reach. */
  readonly clientEndpoint: URL;
}

/** Pulp's manifest media types are chosen by `Accept` (#37399): it always goes upstream. */
function acceptHeaders(accept: readonly string[]): Record<string, string> {
  return accept.length === 0 ? {} : { accept: accept.join(', ') };
}

function answerOf(upstream: UpstreamAnswer, extra: RegistryAnswer['headers'] = {}): RegistryAnswer {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'docker-content-digest', 'link'] as const) {
    const value = upstream.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return { status: upstream.status, headers: { ...headers, ...extra }, body: upstream.body.toString('base64'), challenge: false };
}

/** The upstream's Location, resolved against the call, with scheme and authority swapped (#38304). */
export function clientLocation(location: string, requested: URL, clientEndpoint: URL): string {
  const target = new URL(location, requested);
  target.protocol = clientEndpoint.protocol;
  // Not `host`: a host without a port would leave the upstream's port in place.
  target.hostname = clientEndpoint.hostname;
  target.port = clientEndpoint.port;
  return target.toString();
}

function redirect(location: string): RegistryAnswer {
  return { status: 302, headers: { location }, body: '', challenge: false };
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** Names, references and digests are checked against the registry grammar: no character needs escaping. */
const repositoryPath = (repository: string): string => repository;

export async function fetchManifest(context: UpstreamContext, request: Extract<RegistryRequest, { op: 'manifest' }>, timeoutMs: number): Promise<RegistryAnswer> {
  const path = `/v2/${repositoryPath(request.repository)}/manifests/${request.reference}`;
  const upstream = await context.registry.get({ path, headers: acceptHeaders(request.accept), readBody: true, maxBodyBytes: MAX_REGISTRY_BODY_BYTES, timeoutMs });
  if (isRedirect(upstream.status) && upstream.headers.location) return redirect(clientLocation(upstream.headers.location, context.registry.urlOf(path), context.clientEndpoint));
  return answerOf(upstream);
}

export async function fetchBlob(context: UpstreamContext, request: Extract<RegistryRequest, { op: 'blob' }>, timeoutMs: number): Promise<RegistryAnswer> {
  const path = `/v2/${repositoryPath(request.repository)}/blobs/${request.digest}`;
  const upstream = await context.registry.get({ path, method: 'HEAD', headers: acceptHeaders(request.accept), readBody: false, maxBodyBytes: 0, timeoutMs });
  const requested = context.registry.urlOf(path);
  if (isRedirect(upstream.status) && upstream.headers.location) return redirect(clientLocation(upstream.headers.location, requested, context.clientEndpoint));
  if (upstream.status >= 200 && upstream.status < 300) return redirect(clientLocation(requested.toString(), requested, context.clientEndpoint));
  // A HEAD's error has no body: the registry error is said here, in the registry's format.
  const code = upstream.status === 404 ? 'BLOB_UNKNOWN' : upstream.status === 401 || upstream.status === 403 ? 'DENIED' : 'UNKNOWN';
  return { status: upstream.status, headers: { 'content-type': 'application/json' }, body: Buffer.from(registryErrorBody(code, `the registry answered ${upstream.status} for this blob`)).toString('base64'), challenge: false };
}

/** Tags: `n`/`last` pass; `link` is always set, empty when the upstream sent none (#36616). */
export async function fetchTags(context: UpstreamContext, request: Extract<RegistryRequest, { op: 'tags' }>, timeoutMs: number): Promise<RegistryAnswer> {
  const query = request.query.filter(([name]) => name === 'n' || name === 'last');
  const upstream = await context.registry.get({ path: `/v2/${repositoryPath(request.repository)}/tags/list`, query, readBody: true, maxBodyBytes: MAX_REGISTRY_BODY_BYTES, timeoutMs });
  return answerOf(upstream, { link: upstream.headers.link ?? '' });
}

export async function ping(context: UpstreamContext, timeoutMs: number): Promise<RegistryAnswer> {
  const upstream = await context.registry.get({ path: '/v2/', readBody: true, maxBodyBytes: 64 * 1024, timeoutMs });
  return answerOf(upstream);
}

/**
 * The flatpak index (#38530, #38572): the query re-encoded upstream; with a host certificate the
 * `Results` are narrowed to the repositories that host may pull; 400 when there are none to narrow.
 */
export async function fetchFlatpakIndex(context: UpstreamContext, query: ReadonlyArray<readonly [string, string]>, visible: readonly string[] | undefined, timeoutMs: number): Promise<RegistryAnswer> {
  const upstream = await context.registry.get({ path: '/index/static', query, readBody: true, maxBodyBytes: MAX_REGISTRY_BODY_BYTES, timeoutMs });
  if (upstream.status !== 200 || visible === undefined) return answerOf(upstream);
  let index: { Results?: unknown };
  try {
    index = JSON.parse(upstream.body.toString('utf8')) as typeof index;
  } catch {
    index = {};
  }
  if (!Array.isArray(index.Results)) return { status: 400, headers: { 'content-type': 'application/json' }, body: Buffer.from(registryErrorBody('UNSUPPORTED', 'the upstream index has no Results')).toString('base64'), challenge: false };
  const allowed = new Set(visible);
  const Results = index.Results.filter((entry: unknown) => typeof entry === 'object' && entry !== null && allowed.has(String((entry as { Name?: unknown }).Name)));
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ ...index, Results })).toString('base64'), challenge: false };
}
