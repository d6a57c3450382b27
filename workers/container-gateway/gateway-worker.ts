/**
 * `worker:container_gateway`: answers the ingress's registry requests (container-gateway-contract
 * §2, §3). It holds what the ingress must not: the tables in Redis, the upstream registry's
 * client certificate and the Foreman client Katello is asked through. Every answer is small: blob
 * bytes never cross the broker (registry-ops.ts).
 */
import { createHash } from 'node:crypto';
import { ProxyhubError, errorCodeOf, errorMessage } from '../../contracts/errors.ts';
import { REGISTRY_REPLY_TYPE, registryErrorBody, registryRequestSchema, type RegistryAnswer, type RegistryReply, type RegistryRequest } from '../../contracts/container-gateway/registry-rpc.ts';
import type { Topology } from '../../contracts/topology.ts';
import type { GatewayStore } from '../../hub/container-gateway/gateway-store.ts';
import type { Consumer, Publisher } from '../../hub/bus/transport.ts';
import type { Logger } from '../../hub/log/logger.ts';
import { createRpcServer, type RpcServer } from '../runtime/rpc-server.ts';
import { decideAccess, visibleRepositories, type AccessContext } from './access.ts';
import type { Katello } from './katello.ts';
import { fetchBlob, fetchFlatpakIndex, fetchManifest, fetchTags, ping, type UpstreamContext } from './registry-ops.ts';
import type { RegistryClient } from './registry-client.ts';
import { issueToken, jsonAnswer } from './token-issue.ts';
import type { Tracing } from '../../hub/telemetry/trace-context.ts';

export interface GatewayWorkerOptions {
  readonly consumer: Consumer;
  readonly publisher: Publisher;
  readonly topology: Topology;
  readonly logger: Logger;
  readonly store: GatewayStore;
  readonly registry: RegistryClient;
  readonly katello: Katello;
  /** Scheme and authority put into redirects (the plugin's `client_endpoint`). */
  readonly clientEndpoint: URL;
  /** Upper bound for one upstream or Katello call. */
  readonly callTimeoutMs: number;
  readonly prefetch: number;
  /** Each request a hop of the client's trace (Katello calls continue it). @defaultValue none */
  readonly tracing?: Tracing | undefined;
}

/** The reply must reach the ingress before its own deadline. */
const REPLY_MARGIN_MS = 300;
const MIN_CALL_MS = 100;

function registryError(status: number, code: string, message: string, challenge: boolean): RegistryAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(registryErrorBody(code, message)).toString('base64'), challenge };
}

/** A refused pull: 401 `UNAUTHORIZED` for a host certificate, else 404 `NAME_UNKNOWN`, both with the challenge. */
function refused(status: 401 | 404, repository: string): RegistryAnswer {
  return status === 401 ? registryError(401, 'UNAUTHORIZED', 'authentication required', true) : registryError(404, 'NAME_UNKNOWN', `repository name not known to registry: ${repository}`, true);
}

async function route(options: GatewayWorkerOptions, request: RegistryRequest, timeoutMs: number): Promise<RegistryAnswer> {
  const access: AccessContext = { store: options.store, katello: options.katello, logger: options.logger };
  const upstream: UpstreamContext = { registry: options.registry, clientEndpoint: options.clientEndpoint };
  switch (request.op) {
    case 'ping': {
      // `/v2/` wants a host, a live token or Katello's `unauthorized`; `/v1/_ping` nothing (§2).
      const { identity } = request;
      const allowed = request.v1 || identity.kind === 'certificate' || (identity.kind === 'literal' && identity.token === 'unauthorized') || (identity.kind === 'token' && (await options.store.tokenUser(identity.sha256)) !== undefined);
      return allowed ? ping(upstream, timeoutMs) : registryError(401, 'UNAUTHORIZED', 'authentication required', true);
    }
    case 'token':
      return issueToken({ store: options.store, katello: options.katello }, request, timeoutMs);
    case 'catalog': {
      const visible = await visibleRepositories(access, request.identity, timeoutMs);
      return visible === undefined ? registryError(401, 'UNAUTHORIZED', 'authentication required', true) : jsonAnswer(200, { repositories: visible });
    }
    case 'tags':
    case 'manifest':
    case 'blob': {
      const decision = await decideAccess(access, request.identity, request.repository, timeoutMs);
      if (!decision.allowed) return refused(decision.status, request.repository);
      if (request.op === 'tags') return fetchTags(upstream, request, timeoutMs);
      return request.op === 'manifest' ? fetchManifest(upstream, request, timeoutMs) : fetchBlob(upstream, request, timeoutMs);
    }
    case 'search': {
      // The plugin checks Basic credentials by asking Katello for a token; the open ones need none.
      const identity = request.authorization === undefined ? request.identity : await identityFromBasic(options, request.authorization, timeoutMs);
      const visible = (await visibleRepositories(access, identity.kind === 'anonymous' ? { kind: 'literal', token: 'unauthenticated' } : identity, timeoutMs)) ?? [];
      const results = visible.filter((name) => name.includes(request.q)).slice(0, request.n).map((name) => ({ name, description: '' }));
      return jsonAnswer(200, { num_results: results.length, query: request.q, results });
    }
    case 'flatpak-index': {
      // Narrowed to what the client may pull: a host its catalog (as the plugin does), anyone else
      // the `_catalog` it would see (the plugin shows them the whole index, private names included).
      const visible = (await visibleRepositories(access, request.identity, timeoutMs)) ?? (await visibleRepositories(access, { kind: 'literal', token: 'unauthenticated' }, timeoutMs));
      return fetchFlatpakIndex(upstream, request.query, visible, timeoutMs);
    }
    default: {
      const unknown: never = request;
      throw new ProxyhubError('PROXYHUB_EVENT_INVALID', `unknown registry operation ${String(unknown)}`);
    }
  }
}

/** Basic credentials for `/v1/search`: a token from Katello stands for them, as in the plugin. */
async function identityFromBasic(options: GatewayWorkerOptions, authorization: string, timeoutMs: number): Promise<RegistryRequest['identity']> {
  const answer = await issueToken({ store: options.store, katello: options.katello }, { op: 'token', query: [], authorization, identity: { kind: 'anonymous' }, deadline: Date.now() + timeoutMs }, timeoutMs).catch(() => undefined);
  if (answer?.status !== 200) return { kind: 'anonymous' };
  try {
    const token = (JSON.parse(Buffer.from(answer.body, 'base64').toString('utf8')) as { token?: unknown }).token;
    if (typeof token !== 'string' || token === 'unauthenticated' || token === 'unauthorized') return { kind: 'anonymous' };
    return { kind: 'token', sha256: createHash('sha256').update(token).digest('hex') };
  } catch {
    return { kind: 'anonymous' };
  }
}

async function answer(options: GatewayWorkerOptions, body: Buffer): Promise<RegistryReply> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'PROXYHUB_EVENT_INVALID', detail: 'request is not JSON' };
  }
  const request = registryRequestSchema.safeParse(parsed);
  if (!request.success) return { error: 'PROXYHUB_EVENT_INVALID', detail: request.error.issues[0]?.message ?? 'invalid request' };
  const remaining = request.data.deadline - Date.now() - REPLY_MARGIN_MS;
  if (remaining < MIN_CALL_MS) return { error: 'PROXYHUB_RPC_TIMEOUT', detail: 'picked up too late to answer in time' };
  try {
    return await route(options, request.data, Math.min(options.callTimeoutMs, remaining));
  } catch (error) {
    const code = errorCodeOf(error);
    // Neither the token nor a credential is in these messages: they name calls, not headers.
    options.logger.warn({ err: errorMessage(error), op: request.data.op, code }, 'registry request not answered');
    if (code === 'PROXYHUB_REGISTRY_UNAVAILABLE' || code === 'PROXYHUB_FOREMAN_UNAVAILABLE') return { error: code, detail: code === 'PROXYHUB_REGISTRY_UNAVAILABLE' ? 'the registry could not be reached' : 'Katello could not be reached' };
    return { error: 'PROXYHUB_GATEWAY_STORE_UNAVAILABLE', detail: 'the gateway tables could not be read' };
  }
}

export function createGatewayWorker(options: GatewayWorkerOptions): RpcServer {
  return createRpcServer({
    consumer: options.consumer,
    publisher: options.publisher,
    queue: options.topology.rpcQueue('container_gateway'),
    prefetch: options.prefetch,
    logger: options.logger,
    replyType: REGISTRY_REPLY_TYPE,
    tracing: options.tracing,
    answer: (body) => answer(options, body),
  });
}
