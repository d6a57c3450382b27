/**
 * `proxyhub start`: the composition root. It reads the config, refuses an unsafe deployment,
 * builds each role, listens, and closes everything in reverse order on SIGTERM/SIGINT.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { createTopology, queueFeatures } from '../contracts/topology.ts';
import { loadConfig } from '../hub/config/load.ts';
import { deploymentProblems, parseRoles, type RoleSet } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';
import { createBusTransport } from '../hub/bus/transport-factory.ts';
import { AmqpStreamReader } from '../hub/bus/amqp091/stream-reader.ts';
import { createAnnouncer } from './capability-announcer.ts';
import type { TopologyScope } from '../hub/bus/declare-topology.ts';
import { amqp091UrlOf, type StreamReaderFactory } from '../hub/bus/transport.ts';
import { createCapabilityService, type CapabilityService } from '../hub/control/capability-service.ts';
import { announcementsFor } from '../workers/capabilities.ts';
import { createLogger, type Logger } from '../hub/log/logger.ts';
import { buildControlApp } from '../hub/control/app.ts';
import { buildIngressApp } from '../hub/ingress/app.ts';
import { createDeadLetterService } from '../hub/control/dead-letters.ts';
import { ArfStore } from '../hub/storage/arf-store.ts';
import { RexJobStore } from '../hub/jobs/rex-job-store.ts';
import { httpSettingsFrom } from './http-settings.ts';
import type { Closer } from './closer.ts';
import { describePlan } from './plan.ts';
import { packageVersion } from './version.ts';


export interface RunningHub {
  readonly ingressUrl?: string;
  readonly controlUrl?: string;
  close(): Promise<void>;
}

/**
 * Reads the capabilities stream on its own AMQP 0-9-1 connection (one per reader), whatever the
 * transport: RabbitMQ streams are read over 0-9-1, as the AMQP 1.0 transport's topology is.
 */
export function capabilityStreamFactory(config: Config, scope: TopologyScope, logger: Logger, name: string): StreamReaderFactory {
  const topology = createTopology(config.prefix);
  return ({ from, onEntry }) => new AmqpStreamReader({ url: amqp091UrlOf(config.amqpUrl), name, topology, scope, logger, queue: topology.capabilitiesStream, from, onEntry });
}

function roleNames(roles: RoleSet): string[] {
  return [...(roles.ingress ? ['ingress'] : []), ...(roles.control ? ['control'] : []), ...roles.workers.map((feature) => `worker:${feature}`)];
}

/** Waits (a bounded time: the broker may be slow) until the registry has heard of `instanceId`. */
async function untilSeen(registry: CapabilityService, instanceId: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && !registry.instances().some((record) => record.announcement.instanceId === instanceId)) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function listen(app: FastifyInstance, listener: { host: string; port: number }): Promise<string> {
  return app.listen({ host: listener.host, port: listener.port });
}

/** Builds and starts the roles; returns a handle whose close() shuts down in reverse order. */
export async function startHub(config: Config, roles: RoleSet, logger: Logger): Promise<RunningHub> {
  const topology = createTopology(config.prefix);
  const instanceId = `${hostname()}-${process.pid}`;
  // Unique even for several hubs in one process (tests): the registry keys instances by it.
  const capabilityId = `${instanceId}-${randomUUID().slice(0, 6)}`;
  const closers: Closer[] = [];
  const retryDelaysMs = Object.fromEntries(roles.workers.map((feature) => [feature, config.worker.retryDelaysMs]));
  const scope = { features: queueFeatures, retryDelaysMs };
  const bus = createBusTransport({ url: config.amqpUrl, transport: config.transport, addressScheme: config.amqp10.addressScheme });
  const publisher = bus.createPublisher({ name: `proxyhub ${instanceId} publish`, topology, scope, logger, ...config.publish });
  const result: { ingressUrl?: string; controlUrl?: string } = {};
  let controlRegistry: CapabilityService | undefined;
  const http = httpSettingsFrom(config);
  const closeAll = async (): Promise<void> => {
    for (const closer of closers.reverse()) {
      await closer.close().catch((error: unknown) => logger.warn({ err: String(error), resource: closer.name }, 'close failed'));
    }
  };
  try {
    await publisher.start();
    closers.push({ name: 'publisher', close: () => publisher.close() });
    if (roles.workers.length > 0) {
      // Loaded only where workers run: an ingress process never loads the Foreman client.
      const { startWorkers } = await import('./start-workers.ts');
      await startWorkers(config, roles, { bus, publisher, topology, logger, instanceId, scope, closers });
    }
    if (roles.control) {
      // The task API reads and writes REX jobs in Redis (BullMQ); the ingress never does.
      const rexJobs = new RexJobStore({ redisUrl: config.redisUrl, topology, logger, keepFinishedSeconds: config.rex.keepFinishedSeconds, failFast: true });
      closers.push({ name: 'rex job store', close: () => rexJobs.close() });
      await rexJobs.start();
      // The registry is current before the listener opens: a restarted control answers right at once.
      const capabilities = createCapabilityService({
        openStream: capabilityStreamFactory(config, scope, logger, `proxyhub ${instanceId} capabilities`),
        publisher,
        exchange: topology.capabilitiesExchange,
        readerId: capabilityId,
        logger: logger.child({ component: 'capabilities' }),
        publishChanges: true,
      });
      await capabilities.start();
      controlRegistry = capabilities;
      closers.push({ name: 'capability registry', close: () => capabilities.close() });
      const { startForemanPush } = await import('./foreman-push.ts');
      startForemanPush(config, capabilities, capabilityId, logger, closers);
      const app = await buildControlApp({ publisher, logger, version: packageVersion, deadLetters: createDeadLetterService(() => bus.openQueueBrowser(), topology), http, templateUrl: config.templateUrl, compliance: { store: new ArfStore(config.dataDir), oscapPath: config.openscap.oscapPath }, capabilities, expectedFeatures: config.features, rexJobs, maxEventStreams: config.limits.maxEventStreams });
      result.controlUrl = await listen(app, config.control);
      closers.push({ name: 'control listener', close: () => app.close() });
    }
    if (roles.ingress) {
      const rpc = bus.createRpcClient({ name: `proxyhub ${instanceId} rpc`, logger, topology, clientId: randomUUID().slice(0, 8) });
      await rpc.start();
      closers.push({ name: 'rpc client', close: () => rpc.close() });
      const app = await buildIngressApp({ publisher, eventsExchange: topology.eventsExchange, logger, instanceId, limits: config.limits, http, rpc: { client: rpc, queue: topology.rpcQueue('registration'), timeoutMs: config.rpcTimeoutMs },
        policyFiles: { queue: topology.rpcQueue('openscap'), cacheBytes: config.openscap.policyFileCacheBytes },
        rex: { queue: topology.rpcQueue('rex') },
        relayClients: config.relayClients,
      });
      result.ingressUrl = await listen(app, config.ingress);
      closers.push({ name: 'ingress listener', close: () => app.close() });
    }
    // Announced last, so it is withdrawn first: at SIGTERM the control plane hears of it before
    // the workers spend their grace period finishing in-flight work.
    const announcer = createAnnouncer({ publisher, exchange: topology.capabilitiesExchange, instanceId: capabilityId, roles: roleNames(roles), version: packageVersion, hostname: hostname(), heartbeatMs: config.capabilities.heartbeatMs, logger });
    await announcer.update({
      features: announcementsFor(roles.workers, { registrationUrl: config.registrationUrl, templateUrl: config.templateUrl, rexMode: config.rex.mode }),
      urls: { ...(result.ingressUrl === undefined ? {} : { ingress: result.ingressUrl }), ...(result.controlUrl === undefined ? {} : { control: result.controlUrl }) },
    });
    await announcer.start();
    closers.push({ name: 'capability announcer', close: () => announcer.close() });
    // A process with control and workers reports itself started once its own features show.
    if (controlRegistry) await untilSeen(controlRegistry, capabilityId);
  } catch (error) {
    await closeAll();
    throw error;
  }
  if (roles.control && config.devOpenControl && config.trustedHosts === undefined) {
    logger.warn({ control: result.controlUrl }, 'DEVELOPMENT MODE (PROXYHUB_DEV_OPEN_CONTROL): the control routes that launch REX jobs, replay dead letters and expose host data are open to every caller on this loopback listener; set PROXYHUB_TRUSTED_HOSTS for anything else');
  }
  logger.info({ roles, transport: bus.kind, ...result }, 'proxyhub started');
  return { ...result, close: closeAll };
}

/** The `start` command: runs until a signal, then shuts down gracefully. */
export async function runStart(roleSpec: string): Promise<number> {
  const config = loadConfig();
  const roles = parseRoles(roleSpec);
  const problems = deploymentProblems(config, roles);
  if (problems.length > 0) {
    process.stderr.write(`proxyhub: refusing to start:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  // Listening for signals before anything starts: a SIGTERM that arrives while the process is
  // still starting (it may already have announced itself) must still withdraw and close it, not
  // kill it with the default action.
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const hub = await startHub(config, roles, logger);
  const signal = await Promise.race([stopRequested, describePlan(config, roles).then((plan) => {
    // What this process is, in the same words as `proxyhub config check` prints.
    logger.info({ plan: plan.split('\n') }, 'deployment plan');
    return stopRequested;
  })]);
  logger.info({ signal }, 'shutting down');
  const deadline = setTimeout(() => {
    logger.error('shutdown deadline passed; exiting');
    process.exit(1);
  }, config.worker.shutdownGraceMs + 5000);
  deadline.unref();
  await hub.close();
  return 0;
}
