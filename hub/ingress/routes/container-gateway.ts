/**
 * The container gateway's client routes at the root, as Apache maps them on a content proxy
 * (container-gateway-contract §1, §2): `/v2/…` (registry API, GET and HEAD), `/v1/_ping`,
 * `/v1/search`, the flatpak index `/index/static`. Each request becomes one small RPC to
 * `worker:container_gateway`, which decides and answers; this process holds no credential and no
 * table. Push verbs are refused as the plugin refuses them: the gateway is read-only.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { errorCodeOf, errorMessage } from '../../../contracts/errors.ts';
import {
  REGISTRY_REQUEST_TYPE,
  digestSchema,
  referenceSchema,
  registryReplySchema,
  repositoryNameSchema,
  type RegistryRequest,
} from '../../../contracts/container-gateway/registry-rpc.ts';
import type { RpcClient } from '../../bus/transport.ts';
import { frontProxySet } from '../../http/client-identity.ts';
import { API_VERSION, API_VERSION_HEADER, challengeOf, clientOrigin, registryIdentity, sendGatewayFailure, sendRegistryAnswer, sendRegistryError } from '../registry-answers.ts';

export interface ContainerGatewayRouteOptions {
  readonly rpc: RpcClient;
  readonly queue: string;
  readonly timeoutMs: number;
  /** Peers whose X-Forwarded-Proto/-Host name the origin the client used. */
  readonly frontProxies: readonly string[];
}

type Describe = (common: { identity: RegistryRequest['identity']; deadline: number }) => RegistryRequest;

function queryOf(request: FastifyRequest): Array<[string, string]> {
  return [...new URL(request.url, 'http://x').searchParams.entries()].slice(0, 50);
}

function acceptOf(request: FastifyRequest): string[] {
  const value: string | string[] | undefined = request.headers.accept;
  return (typeof value === 'string' ? [value] : (value ?? [])).slice(0, 50);
}

/** The path below `/v2/`, undecoded, without the optional trailing slash. */
function v2Path(request: FastifyRequest): string {
  const path = new URL(request.url, 'http://x').pathname;
  return path.replace(/^\/v2\/?/, '').replace(/\/$/, '');
}

/** A malformed escape is no name at all (and must not become a 500). */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return '';
  }
}

/** Names may hold slashes (#33538): the route splits at `/manifests/`, `/blobs/`, `/tags/list`. */
function describeV2(request: FastifyRequest, path: string): Describe | { readonly repository: string } | undefined {
  if (path === '') return (common) => ({ op: 'ping', v1: false, ...common });
  if (path === 'token') {
    const authorization = request.headers.authorization;
    const userAgent = request.headers['user-agent'];
    return (common) => ({ op: 'token', query: queryOf(request), ...(authorization === undefined ? {} : { authorization }), ...(userAgent === undefined ? {} : { userAgent }), ...common });
  }
  if (path === '_catalog') return (common) => ({ op: 'catalog', ...common });
  const tags = /^(.+)\/tags\/list$/.exec(path);
  const content = /^(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  const repository = decoded(tags?.[1] ?? content?.[1] ?? '');
  if (repository === '' || !repositoryNameSchema.safeParse(repository).success) return repository === '' ? undefined : { repository };
  if (tags) return (common) => ({ op: 'tags', repository, query: queryOf(request), ...common });
  const reference = decoded(content?.[3] ?? '');
  if (content?.[2] === 'manifests' && referenceSchema.safeParse(reference).success) return (common) => ({ op: 'manifest', repository, reference, accept: acceptOf(request), ...common });
  if (content?.[2] === 'blobs' && digestSchema.safeParse(reference).success) return (common) => ({ op: 'blob', repository, digest: reference, accept: acceptOf(request), ...common });
  return { repository };
}

export const containerGatewayRoutes: FastifyPluginAsync<ContainerGatewayRouteOptions> = async (app, options) => {
  // Push requests are refused unread, whatever their media type or size.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  const frontProxies = frontProxySet(options.frontProxies);

  async function ask(request: FastifyRequest, reply: FastifyReply, describe: Describe): Promise<FastifyReply> {
    const challenge = challengeOf(clientOrigin(request, frontProxies));
    let answer;
    try {
      const body = Buffer.from(JSON.stringify(describe({ identity: registryIdentity(request), deadline: Date.now() + options.timeoutMs })));
      const raw = await options.rpc.request({ queue: options.queue, type: REGISTRY_REQUEST_TYPE, body, timeoutMs: options.timeoutMs, traceparent: request.traceparent });
      answer = registryReplySchema.parse(JSON.parse(raw.toString('utf8')));
    } catch (error) {
      const code = errorCodeOf(error);
      return sendGatewayFailure(reply, code === 'PROXYHUB_BUS_UNROUTABLE' ? 'PROXYHUB_BUS_UNAVAILABLE' : code, errorMessage(error));
    }
    if ('error' in answer) return sendGatewayFailure(reply, answer.error, answer.detail);
    return sendRegistryAnswer(reply, answer, challenge);
  }

  const unknownName = (request: FastifyRequest, reply: FastifyReply, repository: string): FastifyReply =>
    sendRegistryError(reply, 404, 'NAME_UNKNOWN', `repository name not known to registry: ${repository.slice(0, 255)}`, challengeOf(clientOrigin(request, frontProxies)));

  async function v2(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const described = describeV2(request, v2Path(request));
    if (described === undefined) return sendRegistryError(reply, 404, 'UNSUPPORTED', 'no such registry route');
    if (typeof described !== 'function') return unknownName(request, reply, described.repository);
    return ask(request, reply, described);
  }

  // Sinatra answers HEAD for every GET route; fastify's exposeHeadRoutes does the same here.
  app.get('/v2', v2);
  app.get('/v2/*', v2);
  // The gateway is read-only (#37661): every write is a 404 UNSUPPORTED, as the plugin answers it.
  app.route({ method: ['PUT', 'POST', 'PATCH', 'DELETE'], url: '/v2/*', handler: (_request, reply) => sendRegistryError(reply, 404, 'UNSUPPORTED', 'this registry is read-only') });
  for (const url of ['/v1/_ping', '/v1/_ping/']) app.get(url, (request, reply) => ask(request, reply, (common) => ({ op: 'ping', v1: true, ...common })));
  for (const url of ['/v1/search', '/v1/search/']) {
    app.get(url, (request, reply) => {
      // A v2 client asking v1 search gets 404 and falls back to `_catalog` (#37705).
      if (request.headers[API_VERSION_HEADER] === API_VERSION) return sendRegistryError(reply, 404, 'UNSUPPORTED', 'v1 search is not offered to registry v2 clients');
      const query = new URL(request.url, 'http://x').searchParams;
      const n = Number.parseInt(query.get('n') ?? '', 10);
      const authorization = /^Basic\s/i.test(request.headers.authorization ?? '') ? request.headers.authorization : undefined;
      return ask(request, reply, (common) => ({ op: 'search', q: (query.get('q') ?? '').slice(0, 255), n: Number.isFinite(n) && n > 0 ? Math.min(n, 1000) : 25, ...(authorization === undefined ? {} : { authorization }), ...common }));
    });
  }
  for (const url of ['/index/static', '/index/static/']) app.get(url, (request, reply) => ask(request, reply, (common) => ({ op: 'flatpak-index', query: queryOf(request), ...common })));
};
