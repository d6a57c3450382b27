/**
 * Registration, templates and cloud-init userdata, with the smart-proxy's paths and forwarding
 * rules, answered by the registration worker over the broker. Open routes, as in the
 * smart-proxy: the registration token and Foreman's own checks authenticate.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyhubError } from '../../../contracts/errors.ts';
import { FOREMAN_REQUEST_TYPE, foremanReplySchema, type ForemanRequest, type ForemanRequestKind } from '../../../contracts/rpc/foreman-request.ts';
import type { RpcClient } from '../../bus/amqp-rpc-client.ts';
import { codeOf, sendFailure, sendForemanAnswer } from '../foreman-answers.ts';

export interface ForemanProxyRouteOptions {
  readonly rpc: RpcClient;
  readonly queue: string;
  readonly timeoutMs: number;
  readonly bodyLimit: number;
}

/** Hop-by-hop and framing headers are the connection's, not the request's; the answer is passed on
 * as Foreman sends it, so no compression is negotiated on the client's behalf. */
const NOT_FORWARDED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'proxy-authorization', 'content-length', 'version', 'expect', 'accept-encoding']);
const TEMPLATE_SERVER_CACHE_MS = 30_000;

function forwardedHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || NOT_FORWARDED.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function queryPairs(request: FastifyRequest): Array<[string, string]> {
  const search = new URL(request.url, 'http://x').searchParams;
  return [...search.entries()];
}

function describe(request: FastifyRequest, kind: ForemanRequestKind, path: string, timeoutMs: number): ForemanRequest {
  const body = Buffer.isBuffer(request.body) && request.body.length > 0 ? request.body.toString('base64') : undefined;
  return {
    kind,
    method: request.method === 'POST' ? 'POST' : 'GET',
    path,
    query: queryPairs(request),
    headers: forwardedHeaders(request),
    ...(body === undefined ? {} : { body }),
    clientAddress: request.ip,
    ingressBaseUrl: `${request.protocol}://${request.host}`,
    timeoutMs,
  };
}

export const foremanProxyRoutes: FastifyPluginAsync<ForemanProxyRouteOptions> = async (app, options) => {
  // Bodies go to Foreman byte for byte, whatever their media type (JSON, form, a build log).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));
  let templateServer: { at: number; answer: Extract<ReturnType<typeof foremanReplySchema.parse>, { status: number }> } | undefined;

  async function ask(request: FastifyRequest, reply: FastifyReply, kind: ForemanRequestKind, path: string): Promise<FastifyReply> {
    if (kind === 'template-server' && templateServer && Date.now() - templateServer.at < TEMPLATE_SERVER_CACHE_MS) return sendForemanAnswer(reply, kind, templateServer.answer);
    let answer;
    try {
      const raw = await options.rpc.request({ queue: options.queue, type: FOREMAN_REQUEST_TYPE, body: Buffer.from(JSON.stringify(describe(request, kind, path, options.timeoutMs))), timeoutMs: options.timeoutMs });
      answer = foremanReplySchema.parse(JSON.parse(raw.toString('utf8')));
    } catch (error) {
      const code = error instanceof ProxyhubError ? error.code : codeOf(error);
      return sendFailure(reply, kind, code === 'PROXYHUB_BUS_UNROUTABLE' ? 'PROXYHUB_BUS_UNAVAILABLE' : code, (error as Error).message);
    }
    if ('error' in answer) return sendFailure(reply, kind, answer.error, answer.detail);
    if (kind === 'template-server' && answer.status === 200) templateServer = { at: Date.now(), answer };
    return sendForemanAnswer(reply, kind, answer);
  }

  const segment = (value: string) => encodeURIComponent(value);
  app.get('/register', (request, reply) => ask(request, reply, 'register', '/register'));
  app.post('/register', (request, reply) => ask(request, reply, 'register', '/register'));
  app.get('/unattended/templateServer', (request, reply) => ask(request, reply, 'template-server', '/unattended/templateServer'));
  app.get<{ Params: { kind: string } }>('/unattended/:kind', (request, reply) => ask(request, reply, 'unattended', `/unattended/${segment(request.params.kind)}`));
  app.post<{ Params: { kind: string } }>('/unattended/:kind', (request, reply) => ask(request, reply, 'unattended', `/unattended/${segment(request.params.kind)}`));
  app.get<{ Params: { kind: string; template: string; hostgroup: string } }>('/unattended/:kind/:template/:hostgroup', (request, reply) =>
    ask(request, reply, 'unattended', `/unattended/${segment(request.params.kind)}/${segment(request.params.template)}/${segment(request.params.hostgroup)}`),
  );
  app.get<{ Params: { kind: string } }>('/userdata/:kind', (request, reply) => ask(request, reply, 'userdata', `/userdata/${segment(request.params.kind)}`));
};
