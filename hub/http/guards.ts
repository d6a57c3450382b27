/**
 * What every listener gets before its routes: problem+json errors, the client identity,
 * trusted_hosts, per-identity rate limits (one count per host across an ingress's processes) and load shedding (hub/http/admission.ts). Registered on the root instance
 * (fastify-plugin), so the hooks cover every route of the listener.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProxyhubError, errorCatalog } from '../../contracts/errors.ts';
import { PROBLEM_CONTENT_TYPE, problemTypeUri } from '../../contracts/http/problem.ts';
import { peerChannel } from '../cluster/peer-messages.ts';
import { installAdmission } from './admission-hook.ts';
import { clientIdentityPlugin, type FrontProxySettings } from './client-identity.ts';
import { installObservability, type ListenerObservability } from './observability.ts';
import { HOST_RATE_COUNTS_TOPIC, hostRateCountsStore, type HostRateCounts } from './host-rate-counts.ts';
import { handleError, handleNotFound } from './problem.ts';
import { registerOpenApiRoute } from './openapi-route.ts';
import { trustedHostsPlugin } from './trusted-hosts.ts';

export interface GuardSettings {
  readonly tls: boolean;
  readonly trustedHosts: readonly string[] | undefined;
  /** Loopback development: protected control routes open while trusted_hosts is unset. */
  readonly devOpenControl: boolean;
  /** Loopback development: a plain-HTTP ingress with no identity source accepts uploads anyway. */
  readonly devAnonymousUploads: boolean;
  /** TLS-terminating proxies whose identity header is believed (plain HTTP behind them). */
  readonly frontProxy: FrontProxySettings;
  /** 0 turns rate limiting off. */
  readonly ratePerMinute: number;
  readonly headersTimeoutMs: number;
  /** CNs (on plain HTTP: names) that may read `/metrics` (PROXYHUB_METRICS_READERS). */
  readonly metricsReaders: readonly string[];
  /** Event-loop lag that starts shedding; 0 turns this signal off. */
  readonly maxEventLoopDelayMs: number;
  /** Requests held at once that start shedding; 0 turns this signal off. */
  readonly maxInflightRequests: number;
}

/** Counts the requests admission refused before any route saw them, as 503 `PROXYHUB_OVERLOADED` under the route label `(shed)`. */
function shedCounter(listener: 'ingress' | 'control', observability: ListenerObservability): ((request: IncomingMessage) => void) | undefined {
  const metrics = observability.metrics;
  if (metrics === undefined) return undefined;
  const unavailable = metrics.httpUnavailable.labels(listener, 'PROXYHUB_OVERLOADED');
  const byMethod = new Map<string, ReturnType<typeof metrics.httpRequests.labels>>();
  return (request) => {
    const method = request.method ?? 'GET';
    let counted = byMethod.get(method);
    if (counted === undefined) byMethod.set(method, (counted = metrics.httpRequests.labels(listener, method, SHED_ROUTE, '503')));
    counted.inc();
    unavailable.inc();
  };
}

/** The route label of a request refused before routing. */
export const SHED_ROUTE = '(shed)';

export async function registerGuards(app: FastifyInstance, settings: GuardSettings, listener: 'ingress' | 'control', observability: ListenerObservability = {}): Promise<void> {
  // First of all hooks: a refusal must cost nothing beyond answering.
  installAdmission(app, { maxInflight: settings.maxInflightRequests, maxDelayMs: settings.maxEventLoopDelayMs }, shedCounter(listener, observability));
  // Next: every request that gets past admission has its trace context before any refusal is logged.
  installObservability(app, { listener, logger: app.log, ...observability });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // Slow-header clients (slowloris) are cut off long before the whole-request timeout.
  app.server.headersTimeout = settings.headersTimeoutMs;
  // Node hands CONNECT to a 'connect' listener and, without one, drops the socket unanswered.
  app.server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const body = JSON.stringify({ type: problemTypeUri('PROXYHUB_ROUTE_NOT_FOUND'), title: errorCatalog.PROXYHUB_ROUTE_NOT_FOUND.title, status: 404, code: 'PROXYHUB_ROUTE_NOT_FOUND', detail: `no route CONNECT ${request.url ?? ''}`.slice(0, 300) });
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  // Without TLS or a front proxy no caller has an identity. On the control listener trusted_hosts
  // then decides by address; on the ingress nothing could tell one host from another, so uploads
  // are refused unless the development flag says otherwise.
  const anonymousWithoutSource = listener === 'control' || settings.devAnonymousUploads;
  // Front proxies speak for hosts, on the ingress only. On the control listener their header
  // would let anything that connects from a proxy's address (any local process, where Apache
  // runs beside the hub) name itself Foreman: there identity is the certificate, or the address.
  const frontProxy = listener === 'control' ? { ...settings.frontProxy, addresses: [] } : settings.frontProxy;
  await app.register(clientIdentityPlugin, { tls: settings.tls, frontProxy, anonymousWithoutSource });
  // Foreman, which may act on the control listener, may read its metrics too; on the ingress only
  // the listed readers may: a host must not learn the hub's load, queues or features from it.
  const metricsReaders = listener === 'control' ? [...settings.metricsReaders, ...(settings.trustedHosts ?? [])] : settings.metricsReaders;
  await app.register(trustedHostsPlugin, { trustedHosts: settings.trustedHosts, devOpen: settings.devOpenControl, tls: settings.tls, metricsReaders });
  if (settings.ratePerMinute > 0) {
    await app.register(rateLimit, {
      max: settings.ratePerMinute,
      timeWindow: 60_000,
      // One count per host across the processes of an ingress (none elsewhere: no cluster).
      store: hostRateCountsStore({ share: peerChannel<HostRateCounts>(HOST_RATE_COUNTS_TOPIC) }),
      // Per host: the certificate CN where there is one (many hosts can share an address).
      keyGenerator: (request) => request.clientIdentity?.cn.toLowerCase() ?? request.ip,
      errorResponseBuilder: (_request, context) => new ProxyhubError('PROXYHUB_RATE_LIMITED', `more than ${context.max} requests per minute; retry in ${context.after}`),
    });
  }
  // Every listener describes itself; the document names routes and shapes only, so it is open.
  registerOpenApiRoute(app, listener);
}
