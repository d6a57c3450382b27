/**
 * The host-facing REX routes (foreman-contracts.md §2.4, §2.7): pull-mode job fetch, updates and
 * cancel for foreman_ygg_worker, and the proxy's public keys. Everything is asked of the rex
 * worker over the broker: the ingress holds no job state, no key and no route to Redis.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyhubError, errorCodeOf, errorMessage } from '../../../contracts/errors.ts';
import { HOST_REQUEST_TYPE, hostReplySchema, type HostReply, type HostRequest } from '../../../contracts/rex/host-rpc.ts';
import type { RpcClient } from '../../bus/transport.ts';
import { sendProblem } from '../../http/problem.ts';
import type { RpcByteBudget } from '../rpc-byte-budget.ts';

export interface RexRouteOptions {
  readonly rpc: RpcClient;
  /** The rex worker's request queue. */
  readonly queue: string;
  readonly timeoutMs: number;
  readonly updateBodyLimit: number;
  /** Shared with the other routes that wait for workers: bounds the bytes held meanwhile. */
  readonly budget: RpcByteBudget;
}

/** Keys change only when an operator rotates them: asking the worker once a minute is plenty. */
const KEY_CACHE_MS = 60_000;
type JobParams = { Params: { uuid: string } };

function hostName(request: FastifyRequest): string {
  const cn = request.clientIdentity?.cn;
  // The certificate CN is the host's identity: without one no job can be anybody's.
  if (cn === undefined) throw new ProxyhubError('PROXYHUB_AUTH_CERT_REQUIRED', 'pull jobs need the host certificate: its CN names the host the job was launched for');
  return cn;
}

export const rexRoutes: FastifyPluginAsync<RexRouteOptions> = async (app, options) => {
  const keyCache = new Map<string, { at: number; reply: HostReply }>();

  async function ask(request: HostRequest, traceparent: string): Promise<HostReply> {
    const body = Buffer.from(JSON.stringify(request));
    const raw = await options.budget.hold(body.length, () => options.rpc.request({ queue: options.queue, type: HOST_REQUEST_TYPE, body, timeoutMs: options.timeoutMs, traceparent }));
    return hostReplySchema.parse(JSON.parse(raw.toString('utf8')));
  }

  /** The worker's answer as it is, or its refusal as a catalog problem. */
  function send(reply: FastifyReply, answer: HostReply): FastifyReply {
    if (answer.problem) {
      const { code, location, field } = answer.problem;
      return sendProblem(reply, code, answer.body, location === undefined || field === undefined ? undefined : [{ location, field, message: answer.body }]);
    }
    if (answer.effectiveUser) reply.header('x-foreman-effective-user', answer.effectiveUser);
    return reply.code(answer.status).type(answer.contentType).send(answer.body);
  }

  /** No worker consuming the request queue is a refusal to retry, like a worker that is busy. */
  function sendAskFailure(reply: FastifyReply, error: unknown): FastifyReply {
    const code = errorCodeOf(error);
    return sendProblem(reply, code === 'PROXYHUB_BUS_UNROUTABLE' ? 'PROXYHUB_RPC_NO_WORKER' : code, errorMessage(error));
  }

  async function relay(reply: FastifyReply, request: HostRequest): Promise<FastifyReply> {
    let answer: HostReply;
    try {
      answer = await ask(request, reply.request.traceparent);
    } catch (error) {
      return sendAskFailure(reply, error);
    }
    return send(reply, answer);
  }

  async function key(reply: FastifyReply, kind: 'pubkey' | 'ca-pubkey'): Promise<FastifyReply> {
    const cached = keyCache.get(kind);
    if (cached && Date.now() - cached.at < KEY_CACHE_MS) return send(reply, cached.reply);
    let answer: HostReply;
    try {
      answer = await ask({ kind }, reply.request.traceparent);
    } catch (error) {
      return sendAskFailure(reply, error);
    }
    if (answer.status === 200) keyCache.set(kind, { at: Date.now(), reply: answer });
    return send(reply, answer);
  }

  // Open, as in the smart-proxy: registration snippets curl them before a host has a certificate.
  app.get('/ssh/pubkey', (_request, reply) => key(reply, 'pubkey'));
  app.get('/ssh/ca_pubkey', (_request, reply) => key(reply, 'ca-pubkey'));

  const hostRoute = { config: { identity: 'required' as const } };
  app.get('/ssh/jobs', hostRoute, (request, reply) => relay(reply, { kind: 'list', cn: hostName(request) }));
  app.get<JobParams>('/ssh/jobs/:uuid', hostRoute, (request, reply) => relay(reply, { kind: 'fetch', cn: hostName(request), uuid: request.params.uuid }));
  app.get<JobParams>('/ssh/jobs/:uuid/cancel', hostRoute, (request, reply) => relay(reply, { kind: 'cancel', cn: hostName(request), uuid: request.params.uuid }));
  app.post<JobParams>('/ssh/jobs/:uuid/update', { ...hostRoute, bodyLimit: options.updateBodyLimit }, (request, reply) =>
    relay(reply, { kind: 'update', cn: hostName(request), uuid: request.params.uuid, body: request.body ?? null }),
  );
};
