/**
 * Feature discovery as the smart-proxy serves it to Foreman (`/version`, `/features` open;
 * `/v2/features` behind trusted_hosts and a client certificate), plus what the smart-proxy
 * cannot do: `GET /capabilities` (snapshot) and `GET /capabilities/events` (Server-Sent Events:
 * the full state first, then each change; resumable with `Last-Event-ID`).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { SmartProxyFeature } from '../../contracts/capabilities.ts';
import { SSE_CHANGED_EVENT, SSE_SNAPSHOT_EVENT } from '../../contracts/http/capabilities.ts';
import type { CapabilityService, ChangeRecord } from './capability-service.ts';
import { createEventStreams } from './event-streams.ts';
import { runningFeatures, v2Features, versionModules } from './smart-proxy-features.ts';

export interface CapabilityRouteOptions {
  readonly service: CapabilityService;
  /** Features the operator expects (`PROXYHUB_FEATURES`): shown as `failed` while no worker provides them. */
  readonly expected: readonly SmartProxyFeature[];
  readonly tls: boolean;
  readonly version: string;
  /** Event streams served at once; more are refused with 503. */
  readonly maxStreams: number;
}

const protectedRoute = { identity: 'required', trustedHosts: true } as const;
function formatEvent(id: string, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const capabilityRoutes: FastifyPluginAsync<CapabilityRouteOptions> = async (app, options) => {
  const { service } = options;
  const streams = createEventStreams(app, { maxStreams: options.maxStreams, what: 'capability event stream' });

  // Open, as the smart-proxy's root module: Foreman reads it before it trusts anything.
  app.get('/version', () => ({ version: options.version, modules: versionModules(service.features()) }));
  app.get('/features', () => runningFeatures(service.features()));
  app.get('/v2/features', { config: protectedRoute }, () => v2Features(service.features(), options.expected, options.tls));
  app.get('/capabilities', { config: protectedRoute }, () => service.snapshot());

  app.get('/capabilities/events', { config: { ...protectedRoute, rateLimit: false } }, (request, reply) => {
    const lastEventId = request.headers['last-event-id'];
    const missed = typeof lastEventId === 'string' ? service.changesAfter(lastEventId) : undefined;
    streams.open(request, reply, {
      // The snapshot or the missed changes, then the live ones: nothing can fall in between.
      first: (write) => {
        if (missed === undefined) {
          const snapshot = service.snapshot();
          write(formatEvent(snapshot.lastEventId, SSE_SNAPSHOT_EVENT, snapshot));
        } else {
          for (const record of missed) write(formatEvent(service.eventIdOf(record.seq), SSE_CHANGED_EVENT, record.change));
        }
      },
      subscribe: (write) => service.subscribe((record: ChangeRecord) => write(formatEvent(service.eventIdOf(record.seq), SSE_CHANGED_EVENT, record.change))),
    });
  });
};
