/**
 * `proxyhub start`: the composition root. It reads the config, refuses an unsafe deployment,
 * builds each role, listens, and closes everything in reverse order on SIGTERM/SIGINT.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { queueFeatures } from '../contracts/topology.ts';
import { createTopology } from '../contracts/topology.ts';
import { loadConfig } from '../hub/config/load.ts';
import { deploymentProblems, parseRoles, type RoleSet } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';
import { AmqpConsumer } from '../hub/bus/amqp-consumer.ts';
import { AmqpPublisher } from '../hub/bus/amqp-publisher.ts';
import { createLogger, type Logger } from '../hub/bus/logger.ts';
import { createRedis } from '../hub/bus/redis.ts';
import { buildControlApp } from '../hub/control/app.ts';
import { buildIngressApp } from '../hub/ingress/app.ts';
import { createFeatureWorker } from '../workers/runtime/feature-worker.ts';
import { createForemanClient } from '../workers/runtime/foreman-client.ts';
import { features } from '../workers/index.ts';
import { packageVersion } from './version.ts';

type Closer = { readonly name: string; close(): Promise<unknown> };

export interface RunningHub {
  readonly ingressUrl?: string;
  readonly controlUrl?: string;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance, listener: { host: string; port: number }): Promise<string> {
  return app.listen({ host: listener.host, port: listener.port });
}

/** Builds and starts the roles; returns a handle whose close() shuts down in reverse order. */
export async function startHub(config: Config, roles: RoleSet, logger: Logger): Promise<RunningHub> {
  const topology = createTopology(config.prefix);
  const instanceId = `${hostname()}-${process.pid}`;
  const closers: Closer[] = [];
  const retryDelaysMs = Object.fromEntries(roles.workers.map((feature) => [feature, config.worker.retryDelaysMs]));
  const scope = { features: queueFeatures, retryDelaysMs };
  const publisher = new AmqpPublisher({ url: config.amqpUrl, name: `proxyhub ${instanceId} publish`, topology, scope, logger, ...config.publish });
  const result: { ingressUrl?: string; controlUrl?: string } = {};
  const closeAll = async (): Promise<void> => {
    for (const closer of closers.reverse()) {
      await closer.close().catch((error: unknown) => logger.warn({ err: String(error), resource: closer.name }, 'close failed'));
    }
  };
  try {
    await publisher.start();
    closers.push({ name: 'publisher', close: () => publisher.close() });
    if (roles.workers.length > 0) await startWorkers(config, roles, { publisher, topology, logger, instanceId, scope, closers });
    if (roles.control) {
      const app = await buildControlApp({ publisher, logger, version: packageVersion });
      result.controlUrl = await listen(app, config.control);
      closers.push({ name: 'control listener', close: () => app.close() });
    }
    if (roles.ingress) {
      const app = await buildIngressApp({ publisher, eventsExchange: topology.eventsExchange, logger, instanceId, limits: config.limits });
      result.ingressUrl = await listen(app, config.ingress);
      closers.push({ name: 'ingress listener', close: () => app.close() });
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  logger.info({ roles, ...result }, 'proxyhub started');
  return { ...result, close: closeAll };
}

interface WorkerWiring {
  readonly publisher: AmqpPublisher;
  readonly topology: ReturnType<typeof createTopology>;
  readonly logger: Logger;
  readonly instanceId: string;
  readonly scope: ConstructorParameters<typeof AmqpConsumer>[0]['scope'];
  readonly closers: Closer[];
}

async function startWorkers(config: Config, roles: RoleSet, wiring: WorkerWiring): Promise<void> {
  const { logger, topology, instanceId, closers } = wiring;
  const redis = createRedis(config.redisUrl, logger, `proxyhub ${instanceId}`);
  await redis.connect().catch((error: unknown) => logger.warn({ err: String(error) }, 'redis not reachable yet; continuing without dedup until it is'));
  closers.push({ name: 'redis', close: () => redis.quit().catch(() => redis.disconnect()) });
  const foreman = createForemanClient({ url: config.foreman.url as string, cert: config.foreman.cert, key: config.foreman.key, ca: config.foreman.ca, timeoutMs: config.foreman.timeoutMs });
  closers.push({ name: 'foreman client', close: () => foreman.close() });
  const consumer = new AmqpConsumer({ url: config.amqpUrl, name: `proxyhub ${instanceId} consume`, topology, scope: wiring.scope, logger });
  await consumer.start();
  closers.push({ name: 'consumer', close: () => consumer.close() });
  for (const name of roles.workers) {
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
    });
    worker.start();
    closers.push({ name: `worker ${name}`, close: () => worker.close() });
  }
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
  const hub = await startHub(config, roles, logger);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'shutting down');
      const deadline = setTimeout(() => {
        logger.error('shutdown deadline passed; exiting');
        process.exit(1);
      }, config.worker.shutdownGraceMs + 5000);
      deadline.unref();
      void hub.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
