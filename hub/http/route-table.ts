/**
 * The routes a listener serves, recorded as they are registered, so the deployment plan, the
 * OpenAPI document (hub/http/openapi.ts) and the tests read them from the apps themselves instead
 * of from a list that could drift.
 */
import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  /** What the route checks beyond TLS itself. */
  readonly guard: 'open' | 'client certificate' | 'trusted_hosts + client certificate' | 'trusted_hosts or metrics readers + client certificate' | 'metrics readers';
  /** The validation schemas the route declares (zod, with fastify-type-provider-zod). @defaultValue none */
  readonly schema?: RouteSchemas;
  /** Whether the per-client rate limit applies (routes opt out with `config: { rateLimit: false }`). */
  readonly rateLimited: boolean;
}

export interface RouteSchemas {
  readonly body?: unknown;
  readonly querystring?: unknown;
  readonly params?: unknown;
  readonly headers?: unknown;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteEntry[];
  }
}

export function trackRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const config = (route.config ?? {}) as { identity?: string; trustedHosts?: boolean; metricsReaders?: boolean; rateLimit?: unknown };
    const guard = config.trustedHosts
      ? config.metricsReaders
        ? 'trusted_hosts or metrics readers + client certificate'
        : 'trusted_hosts + client certificate'
      : config.metricsReaders
        ? 'metrics readers'
        : config.identity === 'required'
          ? 'client certificate'
          : 'open';
    const schema = route.schema as RouteSchemas | undefined;
    const rateLimited = config.rateLimit !== false;
    for (const method of methods) if (method !== 'HEAD') table.push({ method, url: route.url, guard, rateLimited, ...(schema === undefined ? {} : { schema }) });
  });
}
