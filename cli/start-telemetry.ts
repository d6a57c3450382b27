/**
 * The reporting half of `proxyhub start`: what each process tells operators (metrics, readiness,
 * trace context, access log), wired to the resources the start opens. Kept apart from the roles'
 * own wiring so that each role reads as what it runs.
 */
import type { Redis } from 'ioredis';
import type { Topology } from '../contracts/topology.ts';
import type { BusTransport } from '../hub/bus/transport-factory.ts';
import { observePublishes, publishOutcomes } from '../hub/bus/observed-publisher.ts';
import type { Publisher } from '../hub/bus/transport.ts';
import { metricsPortOf, type RoleSet } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';
import type { CapabilityService } from '../hub/control/capability-service.ts';
import { createQueueDepthSource } from '../hub/control/queue-depths.ts';
import type { ListenerObservability } from '../hub/http/observability.ts';
import type { RexJobStore } from '../hub/jobs/rex-job-store.ts';
import { createAccessLog, type Logger } from '../hub/log/logger.ts';
import { createMetricsServer } from '../hub/telemetry/metrics-server.ts';
import type { Telemetry } from '../hub/telemetry/telemetry.ts';
import type { Closer } from './closer.ts';

/** `publisher`, its outcomes counted, and its connection a readiness check. */
export function reportedPublisher(publisher: Publisher, telemetry: Telemetry): Publisher {
  const outcomes = new Map(publishOutcomes.map((outcome) => [outcome, telemetry.metrics.publishes.labels(outcome)]));
  const observed = observePublishes(publisher, (outcome) => outcomes.get(outcome)?.inc());
  telemetry.health.add('broker', () => (observed.state === 'ready' ? true : `publisher ${observed.state}`));
  return observed;
}

/** What the listeners of this process report with; the access log is closed (flushed) last. */
export function listenerObservability(config: Config, telemetry: Telemetry, process: { readonly role: string; readonly listens: boolean }, closers: Closer[]): ListenerObservability {
  const accessLog = config.observability.accessLog && process.listens ? createAccessLog(config.logLevel) : undefined;
  // Registered before the listeners, so closed after them: their last lines are written.
  if (accessLog !== undefined) closers.push({ name: 'access log', close: () => accessLog.flush() });
  return { metrics: telemetry.metrics, tracing: telemetry.tracing, health: telemetry.health, accessLog: accessLog?.logger, role: process.role };
}

/** The metrics port of a process without a listener; resolves with its URL. */
export async function startMetricsPort(config: Config, telemetry: Telemetry, roles: RoleSet, closers: Closer[], logger: Logger): Promise<string> {
  const role = roles.workers.map((feature) => `worker:${feature}`).join(',');
  const server = createMetricsServer({ host: config.observability.metricsHost, port: metricsPortOf(roles, config.observability.metricsPort), metrics: telemetry.metrics, health: telemetry.health, role });
  closers.push({ name: 'metrics port', close: () => server.close() });
  const url = await server.start();
  logger.info({ metrics: url }, 'metrics and health on the metrics port');
  return url;
}

export interface ControlResources {
  readonly bus: BusTransport;
  readonly topology: Topology;
  readonly rexJobs: RexJobStore;
  readonly gatewayRedis: Redis;
}

/** The control role's own: Redis readiness, REX jobs (BullMQ's export) and queue depths. */
export function reportControl(telemetry: Telemetry, resources: ControlResources): void {
  const { health, metrics } = telemetry;
  const { rexJobs, gatewayRedis } = resources;
  health.add('redis (rex task API)', () => (rexJobs.redisStatus === 'ready' ? true : `REX job store connection ${rexJobs.redisStatus}`));
  health.add('redis (container gateway tables)', () => (gatewayRedis.status === 'ready' ? true : `container gateway tables connection ${gatewayRedis.status}`));
  metrics.addExposition(() => rexJobs.prometheusMetrics());
  metrics.setQueueDepthSource(createQueueDepthSource(() => resources.bus.openQueueBrowser(), resources.topology));
}

/** Counts every capability change the control role's registry sees. */
export function reportCapabilityChanges(telemetry: Telemetry, capabilities: CapabilityService, closers: Closer[]): void {
  const changes = telemetry.metrics.capabilityChanges;
  const unsubscribe = capabilities.subscribe(({ change }) => changes.inc({ feature: change.feature, change: change.change, cause: change.cause }));
  closers.push({ name: 'capability change metrics', close: async () => unsubscribe() });
}
