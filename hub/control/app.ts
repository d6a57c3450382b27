/**
 * The Foreman-facing listener. It never serves a client route. Routes the smart-proxy protects
 * with trusted_hosts declare it (`trustedHosts: true`) together with a required certificate.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../log/logger.ts';
import type { Publisher } from '../bus/transport.ts';
import { listenerOptions } from '../http/fastify-options.ts';
import { registerGuards } from '../http/guards.ts';
import { observabilityRoutes, type ListenerObservability } from '../http/observability.ts';
import { trackRoutes } from '../http/route-table.ts';
import type { HttpSettings } from '../http/settings.ts';
import type { SmartProxyFeature } from '../../contracts/capabilities.ts';
import { capabilityRoutes } from './capability-routes.ts';
import type { CapabilityService } from './capability-service.ts';
import { deadLetterRoutes } from './dead-letter-routes.ts';
import type { DeadLetterService } from './dead-letters.ts';
import type { ArfStore } from '../storage/arf-store.ts';
import { complianceControlRoutes } from './compliance-routes.ts';
import type { RexTaskStore } from '../jobs/rex-job-store.ts';
import { dynflowRoutes } from './dynflow-routes.ts';
import type { GatewayStore } from '../container-gateway/gateway-store.ts';
import { containerGatewayControlRoutes } from './container-gateway-routes.ts';
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import type { QueueBrowser } from '../bus/transport.ts';
import type { Topology } from '../../contracts/topology.ts';
import { createStatusFeed } from './status/status-feed.ts';
import { statusRoutes } from './status/status-routes.ts';

export interface ControlDependencies {
  readonly publisher: Publisher;
  readonly logger: Logger;
  readonly version: string;
  readonly deadLetters: DeadLetterService;
  readonly http: HttpSettings;
  /** The smart-proxy's template_url, which Foreman reads from the proxy it registered. */
  readonly templateUrl: string | undefined;
  /** Stored ARF reports Foreman downloads, and the tool that renders them as HTML. */
  readonly compliance: { readonly store: ArfStore; readonly oscapPath: string };
  readonly capabilities: CapabilityService;
  /** Features expected to run (`PROXYHUB_FEATURES`): `failed` in `/v2/features` while none does. */
  readonly expectedFeatures: readonly SmartProxyFeature[];
  /** REX jobs in BullMQ, for the dynflow task API. */
  readonly rexJobs: RexTaskStore;
  /** The container gateway's tables in Redis, which Katello's pushes replace. @defaultValue none: no gateway routes */
  readonly containerGateway?: GatewayStore;
  /** Capability event streams served at once (`PROXYHUB_MAX_EVENT_STREAMS`); the status page's streams count apart, against the same number. */
  readonly maxEventStreams: number;
  /** Metrics, tracing, health and the access log. @defaultValue none: `/livez` only, no `/metrics` */
  readonly observability?: ListenerObservability;
  /** What the status page reads beyond the services above: queue depths, and the REX queues its job board shows (hub/jobs/rex-job-board.ts). */
  readonly status: { readonly topology: Topology; readonly openQueueBrowser: () => Promise<QueueBrowser>; readonly jobBoard: readonly BaseAdapter[] };
}

export async function buildControlApp(deps: ControlDependencies): Promise<FastifyInstance> {
  const app = Fastify(listenerOptions({ logger: deps.logger, ...deps.http }));
  trackRoutes(app);
  await registerGuards(app, deps.http, 'control', deps.observability);
  app.get('/healthz', { config: { rateLimit: false } }, (_request, reply) => {
    const state = deps.publisher.state;
    return reply.code(state === 'ready' ? 200 : 503).send({ role: 'control', broker: state });
  });
  observabilityRoutes(app, 'control', deps.observability ?? {});
  // Foreman's ProxyAPI::Template asks the registered (control) URL; the answer is configuration.
  app.get('/unattended/templateServer', () => ({ templateServer: deps.templateUrl ?? '' }));
  await app.register(capabilityRoutes, { service: deps.capabilities, expected: deps.expectedFeatures, tls: deps.http.tls, version: deps.version, maxStreams: deps.maxEventStreams });
  await app.register(deadLetterRoutes, { service: deps.deadLetters });
  await app.register(complianceControlRoutes, { store: deps.compliance.store, deadLetters: deps.deadLetters, oscapPath: deps.compliance.oscapPath });
  await app.register(dynflowRoutes, { store: deps.rexJobs, bodyLimit: 64 * 1024 * 1024 });
  const feed = createStatusFeed({ capabilities: deps.capabilities, deadLetters: deps.deadLetters, openQueueBrowser: deps.status.openQueueBrowser, topology: deps.status.topology, rexJobs: deps.rexJobs, expectedFeatures: deps.expectedFeatures, logger: deps.logger });
  await app.register(statusRoutes, { feed, jobBoard: deps.status.jobBoard, maxStreams: deps.maxEventStreams });
  if (deps.containerGateway) await app.register(containerGatewayControlRoutes, { store: deps.containerGateway, bodyLimit: 64 * 1024 * 1024 });
  return app;
}
