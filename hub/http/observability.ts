/**
 * What each listener tells operators about its requests: a counter by route template and status,
 * a latency histogram by route template, 503s by cause, one access log line per request, and the
 * W3C trace context of each request (accepted from the caller or started here).
 *
 * Cheap by construction, because the ingress answers thousands of uploads a second: the metric
 * children for a route are bound once (per route, method and status), the route is known from
 * the hook the route itself carries (added when it is registered), and the access log line is
 * made of fields the request already holds. No URL is ever a label: only route templates.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Logger } from '../log/logger.ts';
import type { HubMetrics } from '../telemetry/metrics.ts';
import { livenessAnswer, readinessAnswer, type Health } from '../telemetry/health.ts';
import { nextTraceparent, traceIdOf, type Hop, type Tracing } from '../telemetry/trace-context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's hop of its trace (the caller's `traceparent` continued, or a new trace). */
    traceparent: string;
    /** The SDK span behind it, when an OpenTelemetry SDK is registered. */
    traceHop: Hop | null;
  }
  interface FastifyReply {
    /** The catalog code of a problem answer (set by sendProblem): the cause of a 503. */
    problemCode: string;
  }
}

/** What the composition root gives a listener to report with; each part is optional (tests, the plan). */
export interface ListenerObservability {
  readonly metrics?: HubMetrics | undefined;
  readonly tracing?: Tracing | undefined;
  readonly health?: Health | undefined;
  /** Where one line per answered request goes (hub/log's buffered access log). @defaultValue none */
  readonly accessLog?: Logger | undefined;
  /** Names the process in the health answers (`ingress`, `control`, `all`…). @defaultValue the listener */
  readonly role?: string | undefined;
}

export interface ObservabilitySettings extends ListenerObservability {
  readonly listener: 'ingress' | 'control';
  readonly logger: FastifyBaseLogger;
}

/** The one route label of every request no route matched, whatever its URL (a scan must not grow the labels). */
const UNMATCHED = '(unmatched)';

type Counted = ReturnType<HubMetrics['httpRequests']['labels']>;
type Timed = ReturnType<HubMetrics['httpDuration']['labels']>;

/** The children of one route and method, bound once; statuses are added as they are first seen. */
interface RouteSeries {
  readonly route: string;
  readonly method: string;
  readonly duration: Timed | undefined;
  readonly byStatus: Map<number, Counted>;
}

function recorder(settings: ObservabilitySettings) {
  const { metrics, listener } = settings;
  const access = settings.accessLog?.child({ listener });
  const unavailable = new Map<string, ReturnType<HubMetrics['httpUnavailable']['labels']>>();
  const series = (route: string, method: string): RouteSeries => ({ route, method, duration: metrics?.httpDuration.labels(listener, method, route), byStatus: new Map() });
  // Only an unmatched request's line names its path (query left out: it may carry a token); a
  // matched one is named by its route template.
  const pathOf = (request: FastifyRequest, entry: RouteSeries): string | undefined => (entry.route === UNMATCHED ? (request.url.split('?')[0] ?? '').slice(0, 200) : undefined);
  const record = (entry: RouteSeries, request: FastifyRequest, reply: FastifyReply): void => {
    const status = reply.statusCode;
    const seconds = reply.elapsedTime / 1000;
    if (metrics !== undefined) {
      let counted = entry.byStatus.get(status);
      if (counted === undefined) {
        counted = metrics.httpRequests.labels(listener, entry.method, entry.route, String(status));
        entry.byStatus.set(status, counted);
      }
      counted.inc();
      entry.duration?.observe(seconds);
      if (status === 503) {
        const cause = reply.problemCode === '' ? 'unknown' : reply.problemCode;
        let child = unavailable.get(cause);
        if (child === undefined) unavailable.set(cause, (child = metrics.httpUnavailable.labels(listener, cause)));
        child.inc();
      }
    }
    request.traceHop?.end(status >= 500 ? `status ${status}` : undefined);
    access?.info({ method: request.method, route: entry.route, path: pathOf(request, entry), status, ms: Math.round(seconds * 1e4) / 10, client: request.clientIdentity?.cn, trace: request.traceparent === '' ? undefined : traceIdOf(request.traceparent) }, 'request');
  };
  return { series, record };
}

/**
 * Registered on a listener's root before its routes (so every route gets its hook). A request the
 * admission hook refused never reaches fastify: guards.ts counts it (route label `(shed)`).
 */
export function installObservability(app: FastifyInstance, settings: ObservabilitySettings): void {
  const { series, record } = recorder(settings);
  const tracing = settings.tracing;
  app.decorateRequest('traceparent', '');
  app.decorateRequest('traceHop', null);
  app.decorateReply('problemCode', '');
  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.traceparent;
    if (tracing?.sdk === true) {
      const hop = tracing.hop(`${request.method} ${request.routeOptions.url ?? 'unmatched'}`, header, 'server');
      request.traceHop = hop;
      request.traceparent = hop.traceparent;
    } else if (tracing !== undefined) request.traceparent = nextTraceparent(header);
    done();
  });
  // Each route carries its own onResponse hook bound to its series: no lookup per request.
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const bound = new Map(methods.map((method) => [method, series(route.url, method)]));
    const hook = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
      const entry = bound.get(request.method) ?? bound.values().next().value;
      if (entry !== undefined) record(entry, request, reply);
      done();
    };
    route.onResponse = [...(route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse]), hook];
  });
  const unmatched = new Map<string, RouteSeries>();
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404 && reply.statusCode === 404) {
      let entry = unmatched.get(request.method);
      if (entry === undefined) unmatched.set(request.method, (entry = series(UNMATCHED, request.method)));
      record(entry, request, reply);
    }
    done();
  });
}

/** `/livez`, `/readyz` (each dependency of the role, the failing ones named) and `/metrics`. */
export function observabilityRoutes(app: FastifyInstance, listener: 'ingress' | 'control', options: ListenerObservability): void {
  const unlimited = { rateLimit: false } as const;
  const role = options.role ?? listener;
  app.get('/livez', { config: unlimited }, () => livenessAnswer(role));
  const health = options.health;
  if (health !== undefined) {
    app.get('/readyz', { config: unlimited }, (_request, reply) => {
      const answer = readinessAnswer(health, role);
      return reply.code(answer.status).header('cache-control', 'no-store').send(answer.body);
    });
  }
  const metrics = options.metrics;
  if (metrics === undefined) return;
  // Control: trusted_hosts (Foreman) and the metrics readers; ingress: the metrics readers only.
  const guard = listener === 'control' ? { trustedHosts: true, metricsReaders: true } : { metricsReaders: true };
  app.get('/metrics', { config: { ...unlimited, ...guard } }, async (_request, reply) => {
    const text = await metrics.render();
    return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text);
  });
}
