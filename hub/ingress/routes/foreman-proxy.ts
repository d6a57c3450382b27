/**
 * Registration, templates and cloud-init userdata, with the smart-proxy's paths and forwarding
 * rules, answered by the registration worker over the broker. Open routes, as in the
 * smart-proxy: the registration token and Foreman's own checks authenticate.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyhubError, errorCodeOf, errorMessage } from '../../../contracts/errors.ts';
import { foremanHeaders } from '../../../contracts/rpc/foreman-headers.ts';
import { FOREMAN_REQUEST_TYPE, foremanReplySchema, type ForemanReply, type ForemanRequest, type ForemanRequestKind } from '../../../contracts/rpc/foreman-request.ts';
import type { RpcClient } from '../../bus/transport.ts';
import { clientAddressOf, frontProxySet, plainAddress } from '../../http/client-identity.ts';
import { sendFailure, sendForemanAnswer } from '../foreman-answers.ts';
import type { RpcByteBudget } from '../rpc-byte-budget.ts';

export interface ForemanProxyRouteOptions {
  readonly rpc: RpcClient;
  readonly queue: string;
  readonly timeoutMs: number;
  readonly bodyLimit: number;
  /** Shared with the other routes that wait for workers: bounds the bytes held meanwhile. */
  readonly budget: RpcByteBudget;
  /** PROXYHUB_FRONT_PROXIES: behind one, the client's address is the one it forwarded. */
  readonly frontProxies: readonly string[];
}

const TEMPLATE_SERVER_CACHE_MS = 30_000;

function queryPairs(request: FastifyRequest): Array<[string, string]> {
  const search = new URL(request.url, 'http://x').searchParams;
  return [...search.entries()];
}

/**
 * A template kind, name or host group becomes one escaped path segment (a `/` in a host group
 * title goes as %2F, as the smart-proxy's CGI escaping sends it). `.` and `..` are refused: the
 * worker calls Foreman with the proxy's certificate, and a path that resolved elsewhere would
 * make the ingress a relay to any Foreman route.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this pattern refuses
const SEGMENT = /^(?!\.{1,2}$)[^\u0000-\u001f\u007f]{1,255}$/u;

function segments(...values: string[]): string {
  for (const value of values) {
    if (!SEGMENT.test(value)) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', `not a template path segment: ${JSON.stringify(value.slice(0, 80))}`, { field: 'path', location: 'params' });
  }
  return values.map((value) => encodeURIComponent(value)).join('/');
}

// The client's address is in a.b.c.d form (Foreman looks hosts up by it, never by ::ffff:a.b.c.d).
function describe(request: FastifyRequest, kind: ForemanRequestKind, path: string, timeoutMs: number, frontProxies: ReadonlySet<string | undefined>): ForemanRequest {
  const body = Buffer.isBuffer(request.body) && request.body.length > 0 ? request.body.toString('base64') : undefined;
  return {
    kind,
    method: request.method === 'POST' ? 'POST' : 'GET',
    path,
    query: queryPairs(request),
    // Dropped here already, so that nothing a client chose travels further than the ingress.
    headers: foremanHeaders(kind, request.headers),
    ...(body === undefined ? {} : { body }),
    // Registration identifies the host by its token, not by this address (nothing forwards it).
    clientAddress: kind === 'register' ? (plainAddress(request.raw.socket.remoteAddress) ?? '') : clientAddressOf(request, frontProxies),
    ingressBaseUrl: `${request.protocol}://${request.host}`,
    timeoutMs,
    deadline: Date.now() + timeoutMs,
  };
}

export const foremanProxyRoutes: FastifyPluginAsync<ForemanProxyRouteOptions> = async (app, options) => {
  // Bodies go to Foreman byte for byte, whatever their media type (JSON, form, a build log).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));
  let templateServer: { at: number; answer: Extract<ForemanReply, { status: number }> } | undefined;
  const frontProxies = frontProxySet(options.frontProxies);

  async function ask(request: FastifyRequest, reply: FastifyReply, kind: ForemanRequestKind, path: string): Promise<FastifyReply> {
    if (kind === 'template-server' && templateServer && Date.now() - templateServer.at < TEMPLATE_SERVER_CACHE_MS) return sendForemanAnswer(reply, kind, templateServer.answer);
    let answer;
    try {
      const body = Buffer.from(JSON.stringify(describe(request, kind, path, options.timeoutMs, frontProxies)));
      const raw = await options.budget.hold(body.length, () => options.rpc.request({ queue: options.queue, type: FOREMAN_REQUEST_TYPE, body, timeoutMs: options.timeoutMs, traceparent: request.traceparent }));
      answer = foremanReplySchema.parse(JSON.parse(raw.toString('utf8')));
    } catch (error) {
      const code = errorCodeOf(error);
      return sendFailure(reply, kind, code === 'PROXYHUB_BUS_UNROUTABLE' ? 'PROXYHUB_BUS_UNAVAILABLE' : code, errorMessage(error));
    }
    if ('error' in answer) return sendFailure(reply, kind, answer.error, answer.detail);
    if (kind === 'template-server' && answer.status === 200) templateServer = { at: Date.now(), answer };
    return sendForemanAnswer(reply, kind, answer);
  }

  app.get('/register', (request, reply) => ask(request, reply, 'register', '/register'));
  app.post('/register', (request, reply) => ask(request, reply, 'register', '/register'));
  app.get('/unattended/templateServer', (request, reply) => ask(request, reply, 'template-server', '/unattended/templateServer'));
  app.get<{ Params: { kind: string } }>('/unattended/:kind', (request, reply) => ask(request, reply, 'unattended', `/unattended/${segments(request.params.kind)}`));
  app.post<{ Params: { kind: string } }>('/unattended/:kind', (request, reply) => ask(request, reply, 'unattended', `/unattended/${segments(request.params.kind)}`));
  app.get<{ Params: { kind: string; template: string; hostgroup: string } }>('/unattended/:kind/:template/:hostgroup', (request, reply) =>
    ask(request, reply, 'unattended', `/unattended/${segments(request.params.kind, request.params.template, request.params.hostgroup)}`),
  );
  app.get<{ Params: { kind: string } }>('/userdata/:kind', (request, reply) => ask(request, reply, 'userdata', `/userdata/${segments(request.params.kind)}`));
};
