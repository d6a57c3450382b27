/**
 * `proxyhub start`: the composition root. It reads the config, refuses an unsafe deployment,
 * builds each role, listens, and closes everything in reverse order on SIGTERM/SIGINT.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { CapabilityService } from '../hub/control/capability-service.ts';
import { createTopology, queueFeatures, type Topology } from '../contracts/topology.ts';
import { loadConfig } from '../hub/config/load.ts';
import { deploymentProblems, identityConfigured, parseRoles, withoutUnconfiguredGateway, type RoleSet } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';
import { createBusTransport, type BusTransport } from '../hub/bus/transport-factory.ts';
import { AmqpStreamReader } from '../hub/bus/amqp091/stream-reader.ts';
import { createAnnouncer } from './capability-announcer.ts';
import type { TopologyScope } from '../hub/bus/declare-topology.ts';
import { amqp091UrlOf, type Publisher, type StreamReaderFactory } from '../hub/bus/transport.ts';
import { announcementsFor } from '../workers/capabilities.ts';
import { createLogger, redactUrl, type Logger } from '../hub/log/logger.ts';
import { httpSettingsFrom } from './http-settings.ts';
import { parseSettingsFrom } from './parse-settings.ts';
import { CLOSE_MARGIN_MS, closeInReverse, type Closer } from './closer.ts';
import { createStartSteps, type StartSteps } from './start-steps.ts';
import { describePlan } from './plan.ts';
import { lowerCpuPriority, runsDeferredWorkOnly } from './cpu-priority.ts';
import { capHeapGrowth, runsListenersOnly } from './listener-heap.ts';
import { packageVersion } from './version.ts';
import { errorCodeOf, errorMessage } from '../contracts/errors.ts';
import type { RoleStartedMessage } from './child-role.ts';
import { createTelemetry, type Telemetry } from '../hub/telemetry/telemetry.ts';
import type { ListenerObservability } from '../hub/http/observability.ts';
import { listenerObservability, reportCapabilityChanges, reportControl, reportedPublisher, startMetricsPort } from './start-telemetry.ts';
import { describeRedis, redisTargetOf } from '../hub/jobs/redis-target.ts';


export interface RunningHub {
  readonly ingressUrl?: string;
  readonly controlUrl?: string;
  /** The metrics port of a process without a listener (`/metrics`, `/livez`, `/readyz`). */
  readonly metricsUrl?: string;
  /** Closes in reverse order; false when a resource did not close within the deadline (logged). */
  close(): Promise<boolean>;
}

export interface StartOptions {
  /** Aborted (with the signal's name as reason) when a stop is requested while starting. */
  readonly stop?: AbortSignal | undefined;
  /** Run as one role of a supervised hub (cli/supervisor.ts): logs `role started`, not `proxyhub started`. */
  readonly supervised?: boolean | undefined;
  /** Metrics, trace context and health. @defaultValue a new set for this hub */
  readonly telemetry?: Telemetry | undefined;
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

/**
 * Builds and starts the roles; returns a handle whose close() shuts down in reverse order. Each
 * wait is a named step of `steps`: past PROXYHUB_START_TIMEOUT_MS, or on a stop signal, the start
 * is abandoned and what it opened is closed (each resource is listed before it starts, so one
 * stuck in its start is closed too).
 */
export async function startHub(config: Config, requested: RoleSet, logger: Logger, options: StartOptions = {}): Promise<RunningHub> {
  const roles = withoutUnconfiguredGateway(config, requested, logger);
  const steps = createStartSteps({ logger, timeoutMs: config.startTimeoutMs, stop: options.stop });
  const closers: Closer[] = [];
  const closeWithin = (): Promise<boolean> => closeInReverse(closers, logger, config.worker.shutdownGraceMs + CLOSE_MARGIN_MS);
  try {
    const urls = await startRoles(config, roles, logger, steps, closers, options.supervised === true, options.telemetry ?? createTelemetry());
    return { ...urls, close: closeWithin };
  } catch (error) {
    steps.finish();
    await closeWithin();
    throw error;
  } finally {
    steps.finish();
  }
}

interface RoleWiring {
  readonly config: Config;
  readonly logger: Logger;
  readonly steps: StartSteps;
  readonly closers: Closer[];
  readonly bus: BusTransport;
  readonly publisher: Publisher;
  readonly topology: Topology;
  readonly scope: TopologyScope;
  readonly instanceId: string;
  readonly capabilityId: string;
  /** Names the broker in wait logs, without its password. */
  readonly broker: string;
  readonly telemetry: Telemetry;
  /** What each listener reports with. */
  readonly observability: ListenerObservability;
}

type StartedUrls = { ingressUrl?: string; controlUrl?: string; metricsUrl?: string };

async function startRoles(config: Config, roles: RoleSet, logger: Logger, steps: StartSteps, closers: Closer[], supervised: boolean, telemetry: Telemetry): Promise<StartedUrls> {
  const topology = createTopology(config.prefix);
  const instanceId = `${hostname()}-${process.pid}`;
  // Unique even for several hubs in one process (tests): the registry keys instances by it.
  const capabilityId = `${instanceId}-${randomUUID().slice(0, 6)}`;
  const retryDelaysMs = Object.fromEntries(roles.workers.map((feature) => [feature, config.worker.retryDelaysMs]));
  const scope = { features: queueFeatures, retryDelaysMs, onDeclare: (node: string) => steps.note(`declaring ${node}`) };
  const broker = `the broker at ${redactUrl(config.amqpUrl)}`;
  logger.info({ roles: roleNames(roles), broker: redactUrl(config.amqpUrl), startTimeoutMs: config.startTimeoutMs }, 'proxyhub starting');
  const bus = await createBusTransport({ url: config.amqpUrl, transport: config.transport, addressScheme: config.amqp10.addressScheme });
  const role = roleNames(roles).join(',');
  telemetry.metrics.info.set({ version: packageVersion, roles: role, transport: bus.kind }, 1);
  const publisher = reportedPublisher(bus.createPublisher({ name: `proxyhub ${instanceId} publish`, topology, scope, logger, ...config.publish }), telemetry);
  const observability = listenerObservability(config, telemetry, { role, listens: roles.ingress || roles.control }, closers);
  const wiring: RoleWiring = { config, logger, steps, closers, bus, publisher, topology, scope, instanceId, capabilityId, broker, telemetry, observability };
  // A process without a listener serves its metrics and health on a port of its own, from the
  // first moment: during a slow start liveness answers and readiness names what it waits for.
  const metricsUrl = !roles.ingress && !roles.control ? await startMetricsPort(config, telemetry, roles, closers, logger) : undefined;
  closers.push({ name: 'publisher', close: () => publisher.close() });
  await steps.run(`${broker} (publisher connection)`, () => publisher.start());
  if (roles.workers.length > 0) {
    // Loaded only where workers run: an ingress process never loads the Foreman client.
    const { startWorkers } = await import('./start-workers.ts');
    await startWorkers(config, roles, { bus, publisher, topology, logger, instanceId, scope, closers, steps, broker, telemetry });
  }
  const result: StartedUrls = metricsUrl === undefined ? {} : { metricsUrl };
  const controlRegistry = roles.control ? await startControl(wiring, result) : undefined;
  if (roles.ingress) result.ingressUrl = await startIngress(wiring);
  // Announced last, so it is withdrawn first: at SIGTERM the control plane hears of it before
  // the workers spend their grace period finishing in-flight work.
  const announcer = createAnnouncer({ publisher, exchange: topology.capabilitiesExchange, instanceId: capabilityId, roles: roleNames(roles), version: packageVersion, hostname: hostname(), heartbeatMs: config.capabilities.heartbeatMs, logger });
  closers.push({ name: 'capability announcer', close: () => announcer.close() });
  await steps.run(`${broker} (announcing this instance)`, async () => {
    await announcer.update({
      features: announcementsFor(roles.workers, { registrationUrl: config.registrationUrl, templateUrl: config.templateUrl, rexMode: config.rex.mode }),
      urls: { ...(result.ingressUrl === undefined ? {} : { ingress: result.ingressUrl }), ...(result.controlUrl === undefined ? {} : { control: result.controlUrl }) },
    });
    await announcer.start();
  });
  // A process with control and workers reports itself started once its own features show.
  if (controlRegistry) await untilSeen(controlRegistry, capabilityId);
  if (roles.control && config.devOpenControl && config.trustedHosts === undefined) {
    logger.warn({ control: result.controlUrl }, 'DEVELOPMENT MODE (PROXYHUB_DEV_OPEN_CONTROL): the control routes that launch REX jobs, replay dead letters and expose host data are open to every caller on this loopback listener; set PROXYHUB_TRUSTED_HOSTS for anything else');
  }
  // Loopback plain HTTP with no front proxy listed has no client identity at all: uploads are
  // refused unless the development flag lets them through unbound.
  if (roles.ingress && !identityConfigured(config)) {
    if (config.devAnonymousUploads) logger.warn({ ingress: result.ingressUrl }, 'DEVELOPMENT MODE (PROXYHUB_DEV_ANONYMOUS_UPLOADS): this plain-HTTP loopback ingress accepts uploads bound to no host certificate, so any local caller may upload for any host');
    else logger.warn({ ingress: result.ingressUrl }, 'this plain-HTTP loopback ingress has no client identity (no TLS, no PROXYHUB_FRONT_PROXIES): uploads, ARF and REX pull are refused with 403; registration and templates still answer');
  }
  logger.info({ roles, transport: bus.kind, ...result }, supervised ? 'role started' : 'proxyhub started');
  return result;
}

async function startControl(wiring: RoleWiring, result: { controlUrl?: string }): Promise<CapabilityService> {
  const { config, logger, steps, closers, bus, publisher, topology, scope, instanceId, capabilityId, telemetry } = wiring;
  // Loaded by the role that runs them: an ingress process carries neither BullMQ nor the control app.
  const [{ RexJobStore }, { rexJobBoardQueues }, { createRedisConnection }, { createCapabilityService }, { buildControlApp }, { createDeadLetterService }, { ArfStore }, { createGatewayStore }] = await Promise.all([
    import('../hub/jobs/rex-job-store.ts'),
    import('../hub/jobs/rex-job-board.ts'),
    import('../hub/jobs/redis.ts'),
    import('../hub/control/capability-service.ts'),
    import('../hub/control/app.ts'),
    import('../hub/control/dead-letters.ts'),
    import('../hub/storage/arf-store.ts'),
    import('../hub/container-gateway/gateway-store.ts'),
  ]);
  // The task API reads and writes REX jobs in Redis (BullMQ); the ingress never does.
  const rexJobs = new RexJobStore({ redis: redisTargetOf(config), topology, logger, keepFinishedSeconds: config.rex.keepFinishedSeconds, failFast: true });
  closers.push({ name: 'rex job store', close: () => rexJobs.close() });
  await steps.run(`Redis at ${describeRedis(redisTargetOf(config))} (REX job store)`, () => rexJobs.start());
  // Katello's pushes replace the container gateway's tables here (hub/control/container-gateway-routes.ts says why not over RPC).
  const gatewayRedis = createRedisConnection(redisTargetOf(config), { name: `proxyhub ${instanceId} container gateway tables`, profile: 'jobs-fail-fast', logger });
  closers.push({ name: 'container gateway tables', close: () => gatewayRedis.quit().then(() => undefined, () => gatewayRedis.disconnect()) });
  reportControl(telemetry, { bus, topology, rexJobs, gatewayRedis });
  // The registry is current before the listener opens: a restarted control answers right at once.
  const capabilities = createCapabilityService({
    openStream: capabilityStreamFactory(config, scope, logger, `proxyhub ${instanceId} capabilities`),
    publisher,
    exchange: topology.capabilitiesExchange,
    readerId: capabilityId,
    logger: logger.child({ component: 'capabilities' }),
    publishChanges: true,
  });
  closers.push({ name: 'capability registry', close: () => capabilities.close() });
  await steps.run(`${wiring.broker} (reading the capabilities stream)`, () => capabilities.start());
  reportCapabilityChanges(telemetry, capabilities, closers);
  const { startForemanPush } = await import('./foreman-push.ts');
  startForemanPush(config, capabilities, capabilityId, logger, closers);
  const app = await buildControlApp({ publisher, logger, version: packageVersion, deadLetters: createDeadLetterService(() => bus.openQueueBrowser(), topology), http: httpSettingsFrom(config), templateUrl: config.templateUrl, compliance: { store: new ArfStore(config.dataDir), oscapPath: config.openscap.oscapPath }, capabilities, expectedFeatures: config.features, rexJobs, containerGateway: createGatewayStore(gatewayRedis, topology), maxEventStreams: config.limits.maxEventStreams,
    status: { topology, openQueueBrowser: () => bus.openQueueBrowser(), jobBoard: rexJobBoardQueues(rexJobs) }, observability: wiring.observability });
  closers.push({ name: 'control listener', close: () => app.close() });
  result.controlUrl = await listen(app, config.control);
  return capabilities;
}

async function startIngress(wiring: RoleWiring): Promise<string> {
  const { config, logger, steps, closers, bus, publisher, topology, instanceId } = wiring;
  const { buildIngressApp } = await import('../hub/ingress/app.ts');
  const rpc = bus.createRpcClient({ name: `proxyhub ${instanceId} rpc`, logger, topology, clientId: randomUUID().slice(0, 8) });
  closers.push({ name: 'rpc client', close: () => rpc.close() });
  await steps.run(`${wiring.broker} (request/reply connection)`, () => rpc.start());
  const app = await buildIngressApp({ publisher, eventsExchange: topology.eventsExchange, logger, instanceId, limits: config.limits, http: httpSettingsFrom(config), rpc: { client: rpc, queue: topology.rpcQueue('registration'), timeoutMs: config.rpcTimeoutMs },
    policyFiles: { queue: topology.rpcQueue('openscap'), cacheBytes: config.openscap.policyFileCacheBytes },
    rex: { queue: topology.rpcQueue('rex') },
    containerGateway: { queue: topology.rpcQueue('container_gateway') },
    rhsm: { queue: topology.rpcQueue('rhsm'), timeoutMs: config.rhsm.timeoutMs, bodyLimit: config.rhsm.bodyBytes },
    relayClients: config.relayClients,
    parse: parseSettingsFrom(config),
    observability: wiring.observability,
  });
  closers.push({ name: 'ingress listener', close: () => app.close() });
  return listen(app, config.ingress);
}

/**
 * The `start` command: runs until a signal, then shuts down gracefully. Several roles run as one
 * supervised child process each (cli/supervisor.ts); `supervised` is such a child.
 */
export async function runStart(roleSpec: string, options: { readonly supervised?: boolean } = {}): Promise<number> {
  const config = loadConfig();
  const roles = withoutUnconfiguredGateway(config, parseRoles(roleSpec), undefined);
  // A supervised child's role was checked with the whole set by its supervisor (and an ingress
  // child runs without the Foreman settings the set's workers need).
  const problems = options.supervised === true ? [] : deploymentProblems(config, roles);
  if (problems.length > 0) {
    process.stderr.write(`proxyhub: refusing to start:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  const names = roleNames(roles);
  if (names.length === 1 && roles.ingress && config.limits.ingressProcesses > 1 && cluster.isPrimary) {
    const { runIngressCluster } = await import('./ingress-cluster.ts');
    // Inside the supervisor's own deadline for this process: its processes are killed first.
    const code = await runIngressCluster({ processes: config.limits.ingressProcesses, logger, supervised: options.supervised === true, stopTimeoutMs: config.worker.shutdownGraceMs + CLOSE_MARGIN_MS + EXIT_DRAIN_MS + 500 });
    exitSoon(code);
    return code;
  }
  if (options.supervised !== true && names.length > 1) {
    const { runSupervisor } = await import('./supervisor.ts');
    // Each child closes within the grace plus the close margin, then drains its log.
    const code = await runSupervisor({ roles: names, logger, stopTimeoutMs: config.worker.shutdownGraceMs + CLOSE_MARGIN_MS + EXIT_DRAIN_MS + 1000 });
    exitSoon(code);
    return code;
  }
  // Listening for signals before anything starts: a signal during the start (which waits on the
  // broker for seconds, or for ever on a wedged one) abandons it and closes what it opened,
  // instead of being noticed only once the start is over. `once`: a second signal gets the
  // default action, so an impatient operator's second Ctrl-C still ends the process at once.
  // A supervised child also stops when its supervisor is gone (the IPC channel closes), so that
  // a supervisor killed outright leaves no role running on its own.
  const stop = new AbortController();
  const stopRequested = new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals | 'supervisor gone'): void => {
      stop.abort(signal);
      resolve(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    if (options.supervised === true) process.once('disconnect', () => onSignal('supervisor gone'));
  });
  if (runsDeferredWorkOnly(roles)) {
    // Before the hub starts its threads, so that they start lowered too. A sandbox that forbids
    // the call costs the priority, not the start.
    try {
      const lowered = lowerCpuPriority(config.worker.niceness);
      if (lowered !== undefined) logger.info({ ...lowered, niceness: config.worker.niceness }, `workers run at nice ${lowered.nice}: an ingress on the same cores answers first`);
    } catch (error) {
      logger.warn({ err: errorMessage(error), niceness: config.worker.niceness }, 'could not lower the workers\' CPU priority: they compete with an ingress on the same cores as equals');
    }
  }
  // Before the listener allocates anything under load; a cluster's processes each run this too.
  if (runsListenersOnly(roles) && capHeapGrowth(config.limits.listenerHeapGrowthPercent)) {
    logger.debug({ percent: config.limits.listenerHeapGrowthPercent }, 'old generation collected once it grows past what is live by this share');
  }
  let hub: RunningHub;
  try {
    hub = await startHub(config, roles, logger, { stop: stop.signal, supervised: options.supervised });
  } catch (error) {
    // What the start opened is closed (within the grace), but a call that never returned may
    // still hold a socket open: the process ends now rather than when its event loop drains.
    const interrupted = errorCodeOf(error) === 'PROXYHUB_START_INTERRUPTED';
    exitSoon(interrupted ? 0 : 1);
    if (interrupted) return 0;
    throw error;
  }
  if (options.supervised === true) {
    const started: RoleStartedMessage = { type: 'proxyhub:role-started', ...(hub.ingressUrl === undefined ? {} : { ingressUrl: hub.ingressUrl }), ...(hub.controlUrl === undefined ? {} : { controlUrl: hub.controlUrl }), ...(hub.metricsUrl === undefined ? {} : { metricsUrl: hub.metricsUrl }) };
    process.send?.(started);
  }
  const signal = await Promise.race([stopRequested, describePlan(config, roles).then((plan) => {
    // What this process is, in the same words as `proxyhub config check` prints.
    logger.info({ plan: plan.split('\n') }, 'deployment plan');
    return stopRequested;
  })]);
  logger.info({ signal }, 'shutting down');
  const closed = await hub.close();
  // The IPC channel to the supervisor would hold the process open until exitSoon ends it.
  if (options.supervised === true && process.connected) process.disconnect();
  exitSoon(closed ? 0 : 1);
  return closed ? 0 : 1;
}

/** Time for the last log lines to flush before a process held open by an unclosed socket is ended. */
const EXIT_DRAIN_MS = 500;

/** Exits with `code` unless the process has ended by itself first (an unref'd timer holds nothing open). */
function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), EXIT_DRAIN_MS).unref();
}
