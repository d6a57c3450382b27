/**
 * The worker half of `proxyhub start`: Redis, the Foreman client, the consumer connection and
 * one feature worker per `worker:<feature>` role.
 */
import { errorCodeOf } from '../contracts/errors.ts';
import { queueFeatures, type QueueFeature, type Topology } from '../contracts/topology.ts';
import type { TopologyScope } from '../hub/bus/declare-topology.ts';
import type { BusTransport } from '../hub/bus/transport-factory.ts';
import type { Publisher } from '../hub/bus/transport.ts';
import type { Logger } from '../hub/log/logger.ts';
import { createRedisConnection } from '../hub/jobs/redis.ts';
import { describeRedis, redisTargetOf } from '../hub/jobs/redis-target.ts';
import type { RoleSet } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';
import { ArfStore } from '../hub/storage/arf-store.ts';
import { createFeatures } from '../workers/index.ts';
import { parseSettingsFrom } from './parse-settings.ts';
import { createArfParser } from '../workers/openscap/arf-parse-pool.ts';
import { createPolicyFileAnswerer } from '../workers/openscap/policy-files.ts';
import { createRpcServer } from '../workers/runtime/rpc-server.ts';
import { createFeatureWorker } from '../workers/runtime/feature-worker.ts';
import { createRegistrationWorker } from '../workers/registration/registration-worker.ts';
import { createForemanClient } from '../workers/runtime/foreman-client.ts';
import type { Closer } from './closer.ts';
import type { StartSteps } from './start-steps.ts';
import { createRexFeature } from '../workers/rex/rex-feature.ts';
import { createContainerGateway } from './start-container-gateway.ts';
import { createNewestUploads } from '../workers/rhsm/newest-upload.ts';
import { createRhsmWorker } from '../workers/rhsm/rhsm-worker.ts';
import type { Telemetry } from '../hub/telemetry/telemetry.ts';

export interface WorkerWiring {
  readonly bus: BusTransport;
  readonly publisher: Publisher;
  readonly topology: Topology;
  readonly logger: Logger;
  readonly instanceId: string;
  readonly scope: TopologyScope;
  readonly closers: Closer[];
  /** Names each wait of the start, which a deadline or a stop signal abandons. */
  readonly steps: StartSteps;
  /** The broker as wait logs name it, without its password. */
  readonly broker: string;
  readonly telemetry: Telemetry;
}

export async function startWorkers(config: Config, roles: RoleSet, wiring: WorkerWiring): Promise<void> {
  const { logger, topology, instanceId, closers, steps, telemetry } = wiring;
  const { health, tracing } = telemetry;
  const redis = createRedisConnection(redisTargetOf(config), { name: `proxyhub ${instanceId}`, profile: 'short-commands', logger });
  // Only the work-queue features keep dedup records: a registration or rex worker's account then
  // needs no Redis access for them (rex opens its own BullMQ connections).
  if (roles.workers.some((name) => isQueueFeature(name))) {
    closers.push({ name: 'redis', close: () => redis.quit().catch(() => redis.disconnect()) });
    // Deliveries go on without dedup while Redis is down (at-least-once), but the operator should know.
    health.add('redis (delivered ids)', () => (redis.status === 'ready' ? true : `dedup connection ${redis.status}`));
    await steps.run(`Redis at ${describeRedis(redisTargetOf(config))} (dedup records)`, () => redis.connect()).catch((error: unknown) => {
      if (isAbandonedStart(error)) throw error;
      logger.warn({ err: String(error) }, 'redis not reachable yet; continuing without dedup until it is');
    });
  }
  const foreman = createForemanClient({ url: config.foreman.url as string, cert: config.foreman.cert, key: config.foreman.key, ca: config.foreman.ca, timeoutMs: config.foreman.timeoutMs, tracing });
  closers.push({ name: 'foreman client', close: () => foreman.close() });
  const consumer = wiring.bus.createConsumer({ name: `proxyhub ${instanceId} consume`, topology, scope: wiring.scope, logger });
  closers.push({ name: 'consumer', close: () => consumer.close() });
  await steps.run(`${wiring.broker} (consumer connection)`, () => consumer.start());
  health.add('broker (consumer)', () => (consumer.state === 'ready' ? true : `consumer ${consumer.state}`));
  // Closed after the workers (closers run in reverse): their in-flight parses finish first.
  const arfParser = roles.workers.includes('openscap') ? createArfParser({ ...parseSettingsFrom(config), logger: logger.child({ feature: 'openscap' }) }) : undefined;
  if (arfParser !== undefined) closers.push({ name: 'arf parse threads', close: () => arfParser.close() });
  const workers: Array<{ close(): Promise<void> }> = [];
  // In parallel: each waits up to the grace period for its in-flight work.
  closers.push({ name: 'workers', close: () => Promise.all(workers.map((worker) => worker.close())) });
  // `/rhsm` goes to Katello (Foreman unless PROXYHUB_RHSM_URL names another base URL) through a
  // pool of its own: Foreman's deadline (PROXYHUB_FOREMAN_TIMEOUT_MS) would cut off the slow
  // registrations and profile imports the /rhsm budget exists for.
  const katello = roles.workers.includes('rhsm') ? createForemanClient({ url: config.rhsm.url ?? (config.foreman.url as string), cert: config.foreman.cert, key: config.foreman.key, ca: config.foreman.ca, timeoutMs: config.rhsm.timeoutMs }) : foreman;
  if (katello !== foreman) closers.push({ name: 'katello client (rhsm)', close: () => katello.close() });
  const rhsmCalls = { forwardedHost: config.rhsm.forwardedHost };
  const rhsm = { topology, katello, newest: createNewestUploads(redis, config.worker.dedupTtlSeconds), calls: rhsmCalls, coalesceMs: config.rhsm.coalesceMs, timeoutMs: config.rhsm.timeoutMs };
  const features = createFeatures({ arfStore: new ArfStore(config.dataDir), openscapProxyUrl: config.openscap.proxyUrl ?? null, openscapMaxReportBytes: config.openscap.maxReportBytes, ...(arfParser === undefined ? {} : { arfParser }), rhsm });
  for (const name of roles.workers) {
    if (name === 'openscap') {
      // The openscap worker also answers the policy file requests hosts make before a scan.
      const policyFiles = createRpcServer({
        consumer,
        publisher: wiring.publisher,
        queue: topology.rpcQueue('openscap'),
        prefetch: config.worker.prefetch,
        logger: logger.child({ feature: 'openscap' }),
        tracing,
        answer: createPolicyFileAnswerer({ foreman, dataDir: config.dataDir, foremanTimeoutMs: config.foreman.timeoutMs, diskCacheBytes: config.openscap.policyFileDiskCacheBytes, logger: logger.child({ feature: 'openscap' }) }),
      });
      workers.push(policyFiles);
      await steps.run('the openscap policy file queue', () => policyFiles.start());
    }
    if (name === 'rhsm') {
      // Every synchronous /rhsm call; the accepted uploads come through the work queue below.
      const passthrough = createRhsmWorker({ consumer, publisher: wiring.publisher, katello, topology, logger: logger.child({ feature: name }), calls: rhsmCalls, prefetch: config.worker.prefetch });
      workers.push(passthrough);
      await steps.run('the rhsm request queue', () => passthrough.start());
    }
    if (name === 'rex') {
      const rex = createRexFeature({
        topology,
        redis: redisTargetOf(config),
        mqttUrl: config.mqttUrl,
        mqttTls: { cert: config.mqttTls.cert ?? config.foreman.cert, key: config.mqttTls.key ?? config.foreman.key, ca: config.mqttTls.ca ?? config.foreman.ca },
        publisher: wiring.publisher,
        consumer,
        foreman,
        logger: logger.child({ feature: 'rex' }),
        instanceId,
        dataDir: config.dataDir,
        sshKey: config.sshKey,
        rpcPrefetch: config.worker.prefetch,
        shutdownGraceMs: config.worker.shutdownGraceMs,
        tracing,
        settings: {
          ...config.rex,
          sshCaPublicKey: config.rex.sshCaPublicKey,
          pull: { ttlSeconds: config.rex.mqttTtlSeconds, rateLimit: config.rex.mqttRateLimit, resendIntervalSeconds: config.rex.mqttResendIntervalSeconds, timeToPickupSeconds: config.rex.timeToPickupSeconds, pullUrl: config.rex.pullUrl },
        },
      });
      workers.push(rex);
      await steps.run(`the rex worker (Redis at ${describeRedis(redisTargetOf(config))}, MQTT, the broker)`, () => rex.start());
      health.add('redis (rex jobs)', () => (rex.redisStatus === 'ready' ? true : `REX job store connection ${rex.redisStatus}`));
      continue;
    }
    if (name === 'container_gateway') {
      const gateway = createContainerGateway(config, { consumer, publisher: wiring.publisher, topology, logger: logger.child({ feature: name }), instanceId, closers, foreman, telemetry });
      workers.push(gateway);
      await steps.run(`the container gateway worker (Redis at ${describeRedis(redisTargetOf(config))})`, () => gateway.start());
      continue;
    }
    if (name === 'registration') {
      const worker = createRegistrationWorker({
        consumer,
        publisher: wiring.publisher,
        foreman,
        topology,
        logger: logger.child({ feature: name }),
        forwarding: { registrationUrl: config.registrationUrl, templateUrl: config.templateUrl },
        foremanTimeoutMs: config.foreman.timeoutMs,
        prefetch: config.worker.prefetch,
        tracing,
      });
      workers.push(worker);
      await steps.run('the registration worker', () => worker.start());
      continue;
    }
    const worker = createFeatureWorker({
      feature: features[name],
      consumer,
      publisher: wiring.publisher,
      redis,
      foreman,
      topology,
      logger,
      source: `proxyhub/worker/${name}/${instanceId}`,
      proxyName: config.proxyName,
      settings: config.worker,
      telemetry,
    });
    workers.push(worker);
    await steps.run(`the ${name} worker`, () => worker.start());
  }
}

/** A deadline or stop signal ends the start: it is not a Redis that is merely not up yet. */
function isAbandonedStart(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code === 'PROXYHUB_START_TIMEOUT' || code === 'PROXYHUB_START_INTERRUPTED';
}

function isQueueFeature(name: string): name is QueueFeature {
  return (queueFeatures as readonly string[]).includes(name);
}
