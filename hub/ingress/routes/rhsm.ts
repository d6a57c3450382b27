/**
 * `/rhsm` for subscription-manager, virt-who and katello-host-tools (rhsm-contract §8), in
 * place of the content proxy's Apache reverse proxy. The ingress holds no Foreman credential:
 * synchronous calls become one request/reply to `worker:rhsm`, which calls Katello with the
 * proxy's certificate and the host's verified one; the uploads whose reply nobody reads
 * (profiles, tracer, enabled repositories, facts-only updates) are answered 202 once the broker
 * confirmed, and the worker delivers them (§6). Stricter than Apache: a host certificate speaks
 * only for its own consumer UUID, and no client-sent identity header gets past this process.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createEvent } from '../../../contracts/events/create-event.ts';
import { ProxyhubError, errorCodeOf, errorMessage } from '../../../contracts/errors.ts';
import { RHSM_REQUEST_TYPE, rhsmForwardedHeaders, rhsmReplySchema, type RhsmClient, type RhsmRequest } from '../../../contracts/rhsm/rhsm-rpc.ts';
import { belowRhsm, classifyRhsmRoute, isFactsOnly, katelloPath, type RhsmUploadKind } from '../../../contracts/rhsm/rhsm-routes.ts';
import type { RpcClient } from '../../bus/transport.ts';
import { verifiedCertificatePem } from '../../http/client-certificate.ts';
import { plainAddress } from '../../http/client-identity.ts';
import { acceptEvent, type AcceptDependencies } from '../accept-event.ts';
import { assertNesting } from '../input-shape.ts';
import type { RpcByteBudget } from '../rpc-byte-budget.ts';
import { sendRhsmAnswer, sendRhsmUnavailable, withDisplayMessage } from '../rhsm-answers.ts';

export interface RhsmRouteOptions extends AcceptDependencies {
  readonly source: string;
  readonly rpc: RpcClient;
  readonly queue: string;
  /** The `/rhsm` budget (PROXYHUB_RHSM_TIMEOUT_MS), below the client's 180 s. */
  readonly timeoutMs: number;
  readonly bodyLimit: number;
  readonly budget: RpcByteBudget;
}

type Method = RhsmRequest['method'];
const METHODS: Method[] = ['GET', 'POST', 'PUT', 'DELETE'];
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
/**
 * Upload bodies that are lists: the combined profile (`[{"content_type":"rpm","profile":[…]}, …]`,
 * subscription-manager's `updateCombinedProfile`) and the rpm lists of `/profile` and `/packages`.
 * The others (deb profile, tracer, enabled repositories, facts) are objects.
 */
const LIST_KINDS = new Set<RhsmUploadKind>(['profiles', 'profile', 'packages']);

interface Target {
  readonly path: string;
  readonly sub: string;
  readonly query: Array<[string, string]>;
}

/** The path as Katello will route it (katelloPath: dot segments resolved, slashes squeezed) must still be under `/rhsm`. */
function targetOf(request: FastifyRequest): Target {
  const url = new URL(request.url, 'http://ingress.invalid');
  const path = katelloPath(request.url.split(/[?#]/, 1)[0] as string);
  if (path === undefined) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', 'the path leaves /rhsm once its escapes, dot segments and doubled slashes are resolved, or holds an escaped slash, backslash or NUL', { field: 'path', location: 'params' });
  return { path, sub: belowRhsm(path), query: [...url.searchParams.entries()].slice(0, 500) };
}

/** Who the host is, as this listener verified it: never from a header it sent. */
function clientOf(request: FastifyRequest): RhsmClient {
  const pem = verifiedCertificatePem(request);
  return { ...(pem === undefined ? {} : { certificatePem: pem }), address: plainAddress(request.ip) ?? request.ip, host: request.host.slice(0, 255) };
}

function bodyOf(request: FastifyRequest): Buffer | undefined {
  return Buffer.isBuffer(request.body) && request.body.length > 0 ? request.body : undefined;
}

/** The upload's JSON, checked for the route's shape; a 4xx naming `body` otherwise (nothing is published). */
function uploadJson(request: FastifyRequest, kind: RhsmUploadKind, body: Buffer | undefined): unknown {
  if (!JSON_TYPE.test(request.headers['content-type'] ?? '')) {
    throw new ProxyhubError('PROXYHUB_INPUT_MEDIA_TYPE', `a ${kind} upload must be application/json, not ${request.headers['content-type'] ?? '(none)'}`, { field: 'content-type', location: 'headers' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch (error) {
    throw new ProxyhubError('PROXYHUB_INPUT_MALFORMED', `the ${kind} upload is not valid JSON: ${errorMessage(error)}`, { field: 'body', cause: error });
  }
  const shapeOk = typeof parsed === 'object' && parsed !== null && (LIST_KINDS.has(kind) || !Array.isArray(parsed));
  if (!shapeOk) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', `the ${kind} upload must be a JSON ${LIST_KINDS.has(kind) ? 'object or list' : 'object'}`, { field: 'body' });
  assertNesting(parsed, 'body');
  return parsed;
}

export const rhsmRoutes: FastifyPluginAsync<RhsmRouteOptions> = async (app, options) => {
  // Bodies go to Katello byte for byte (JSON, virt-who's text/plain); uploads are parsed below.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));
  app.addHook('onSend', withDisplayMessage);
  // The listener's idle timeout (PROXYHUB_REQUEST_TIMEOUT_MS + 5 s) is shorter than this route's
  // budget: a slow Katello answer must end as Katello's answer or a 503, not a closed socket.
  app.addHook('onRequest', async (request) => void request.raw.setTimeout(options.timeoutMs + 10_000));

  async function synchronous(request: FastifyRequest, reply: FastifyReply, target: Target, client: RhsmClient, body: Buffer | undefined): Promise<FastifyReply> {
    const described: RhsmRequest = {
      method: request.method as Method,
      path: target.path,
      query: target.query,
      headers: rhsmForwardedHeaders(request.headers),
      ...(body === undefined ? {} : { body: body.toString('base64') }),
      client,
      deadline: Date.now() + options.timeoutMs,
    };
    let answer;
    try {
      const message = Buffer.from(JSON.stringify(described));
      const raw = await options.budget.hold(message.length, () => options.rpc.request({ queue: options.queue, type: RHSM_REQUEST_TYPE, body: message, timeoutMs: options.timeoutMs }));
      answer = rhsmReplySchema.parse(JSON.parse(raw.toString('utf8')));
    } catch (error) {
      return sendRhsmUnavailable(reply, errorCodeOf(error), errorMessage(error));
    }
    if ('error' in answer) return sendRhsmUnavailable(reply, answer.error, answer.detail);
    return sendRhsmAnswer(reply, answer);
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const target = targetOf(request);
    const route = classifyRhsmRoute(request.method, target.sub, target.query);
    const identity = request.clientIdentity;
    // Katello checks this on most consumer routes, and not on the check-in (§3, §8): here on all.
    if (identity !== undefined && route.consumerUuid !== undefined && route.consumerUuid.toLowerCase() !== identity.cn.toLowerCase()) {
      throw new ProxyhubError('PROXYHUB_AUTH_HOST_MISMATCH', `consumer ${route.consumerUuid.slice(0, 64)} is not the consumer of the client certificate (${identity.cn})`, { field: 'path', location: 'params' });
    }
    const client = clientOf(request);
    const body = bodyOf(request);
    // Async only for a host's own certificate: user credentials must not wait in a queue (or a
    // dead-letter queue), so an upload made with them stays synchronous.
    const asyncable = route.upload !== undefined && route.consumerUuid !== undefined && client.certificatePem !== undefined && request.headers.authorization === undefined;
    if (!asyncable || route.upload === undefined || route.consumerUuid === undefined) return synchronous(request, reply, target, client, body);
    const json = uploadJson(request, route.upload, body);
    if (route.upload === 'facts' && !isFactsOnly(json)) return synchronous(request, reply, target, client, body);
    const { authorization: _never, ...headers } = rhsmForwardedHeaders(request.headers);
    const upload = { kind: route.upload, consumerUuid: route.consumerUuid, query: target.query.slice(0, 100), headers, body: (body ?? Buffer.alloc(0)).toString('utf8'), client };
    const envelope = createEvent('rhsm.upload.accepted.v1', upload, { source: options.source, subject: route.consumerUuid, clientcn: identity?.cn });
    return acceptEvent(reply, options, envelope);
  }

  const config = { identity: 'optional' as const };
  app.route({ method: METHODS, url: '/rhsm', config, handler: handle });
  app.route({ method: METHODS, url: '/rhsm/*', config, handler: handle });
};
