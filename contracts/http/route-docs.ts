/**
 * What the OpenAPI documents say about a route beyond what the route itself declares. The route
 * table (hub/http/route-table.ts) gives the methods, paths, guards and the zod schemas a route
 * validates with; this adds the summary, the request body of routes that parse it themselves,
 * the answers, and the catalog codes a route can answer with. A route with no entry is still
 * documented, from its guard and schemas alone (hub/http/openapi.ts).
 */
import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';

export interface ResponseDoc {
  readonly description: string;
  /** @defaultValue 'application/json' when `schema` is set */
  readonly contentType?: string;
  /** @defaultValue none: the body is described in words only */
  readonly schema?: z.ZodType;
}

export interface RequestBodyDoc {
  readonly contentTypes: readonly string[];
  /** @defaultValue none: an opaque body (bytes, YAML) */
  readonly schema?: z.ZodType;
  readonly description?: string;
}

export interface RouteDoc {
  readonly summary: string;
  readonly description?: string;
  /** For a route that parses its body itself rather than through a route schema. @defaultValue none */
  readonly body?: RequestBodyDoc;
  /** Query parameters a route reads itself. @defaultValue none */
  readonly query?: z.ZodObject;
  /** The answers other than problem+json ones, by status. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Catalog codes the route answers beyond those its guard and the listener give every route. @defaultValue none */
  readonly problems?: readonly ErrorCode[];
}

/** Keyed `METHOD /path` with the path as fastify spells it (`/ssh/jobs/:uuid`). */
export type RouteDocs = Readonly<Record<string, RouteDoc>>;

export const routeKey = (method: string, url: string): string => `${method} ${url}`;

/** The one answer every upload route gives once the broker confirmed the event. */
export const acceptedResponse: ResponseDoc = {
  description: 'Accepted: the broker confirmed the event; `id` is its CloudEvents id on the bus.',
  schema: z.object({ id: z.string() }),
};

/** Problems of every route that publishes an event and answers only once the broker confirmed it. */
export const publishProblems: readonly ErrorCode[] = [
  'PROXYHUB_BUS_UNAVAILABLE',
  'PROXYHUB_BUS_BLOCKED',
  'PROXYHUB_BUS_UNROUTABLE',
  'PROXYHUB_BUS_REFUSED',
  'PROXYHUB_BUS_TIMEOUT',
  'PROXYHUB_BUS_TOPOLOGY_MISSING',
];

/** Problems of every route answered by a worker over the broker (request/reply). */
export const rpcProblems: readonly ErrorCode[] = ['PROXYHUB_BUS_UNAVAILABLE', 'PROXYHUB_RPC_NO_WORKER', 'PROXYHUB_RPC_TIMEOUT', 'PROXYHUB_RPC_INFLIGHT_LIMIT'];

/** Each listener's own description, served open on both: it names routes and shapes, never host data. */
export const openApiRouteDoc: RouteDoc = {
  summary: 'This listener’s OpenAPI 3.1 document, built from its own route table',
  responses: { 200: { description: 'The OpenAPI document.', contentType: 'application/json' } },
};

/** Liveness, readiness and metrics, the same on both listeners (hub/telemetry); never shed under load. */
export const observabilityRouteDocs: RouteDocs = {
  'GET /livez': {
    summary: 'Liveness: the process answers (a supervisor restarts it only when this fails)',
    responses: { 200: { description: '`{"status":"alive", role, pid, uptimeSeconds}`.', contentType: 'application/json' } },
  },
  'GET /readyz': {
    summary: 'Readiness: every dependency this role uses (broker, Redis, Foreman for delivering workers), naming the failing ones',
    responses: {
      200: { description: '`{"status":"ready", role, checks, failing: []}`.', contentType: 'application/json' },
      503: { description: '`{"status":"not ready", role, checks, failing: [names]}`.', contentType: 'application/json' },
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics of this process (readers listed in PROXYHUB_METRICS_READERS; on control also trusted_hosts)',
    responses: { 200: { description: 'The Prometheus text exposition format.', contentType: 'text/plain' } },
  },
};
