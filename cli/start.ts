/**
 * `proxyhub start`: the composition root. It reads the config, refuses an unsafe deployment,
 * builds each role, listens, and closes everything in reverse order on SIGTERM/SIGINT.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { createTopology, queueFeatures } from '../contracts/topology.ts';
import { loadConfig } from '../hub/config/load.ts';
import { deploymentProblems, parseRoles, type RoleSet } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';
import { AmqpPublisher } from '../hub/bus/amqp-publisher.ts';
import { AmqpRpcClient } from '../hub/bus/amqp-rpc-client.ts';
import { createLogger, type Logger } from '../hub/bus/logger.ts';
import { buildControlApp } from '../hub/control/app.ts';
import { buildIngressApp } from '../hub/ingress/app.ts';
import { createDeadLetterService } from '../hub/control/dead-letters.ts';
import { ArfStore } from '../hub/storage/arf-store.ts';
import { RexJobStore } from '../hub/bus/rex-jobs.ts';
import { httpSettingsFrom } from './http-settings.ts';
import type { Closer } from './closer.ts';
import { describePlan } from './plan.ts';
import { packageVersion } from './version.ts';


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
      await startWorkers(config, roles, { publisher, topology, logger, instanceId, scope, closers });
    }
    if (roles.control) {
      // The task API reads and writes REX jobs in Redis (BullMQ); the ingress never does.
      const rexJobs = new RexJobStore({ redisUrl: config.redisUrl, topology, logger, keepFinishedSeconds: config.rex.keepFinishedSeconds, failFast: true });
      closers.push({ name: 'rex job store', close: () => rexJobs.close() });
      await rexJobs.start();
      const app = await buildControlApp({ publisher, logger, version: packageVersion, deadLetters: createDeadLetterService(config.amqpUrl, topology), http, templateUrl: config.templateUrl, compliance: { store: new ArfStore(config.dataDir), oscapPath: config.openscap.oscapPath }, rexJobs });
      result.controlUrl = await listen(app, config.control);
      closers.push({ name: 'control listener', close: () => app.close() });
    }
    if (roles.ingress) {
      const rpc = new AmqpRpcClient({ url: config.amqpUrl, name: `proxyhub ${instanceId} rpc`, logger });
      await rpc.start();
      closers.push({ name: 'rpc client', close: () => rpc.close() });
      const app = await buildIngressApp({ publisher, eventsExchange: topology.eventsExchange, logger, instanceId, limits: config.limits, http, rpc: { client: rpc, queue: topology.rpcQueue('registration'), timeoutMs: config.rpcTimeoutMs },
        policyFiles: { queue: topology.rpcQueue('openscap'), cacheBytes: config.openscap.policyFileCacheBytes },
        rex: { queue: topology.rpcQueue('rex') },
      });
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
  // What this process is, in the same words as `proxyhub config check` prints.
  logger.info({ plan: (await describePlan(config, roles)).split('\n') }, 'deployment plan');
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
