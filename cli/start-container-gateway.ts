/**
 * Wiring of `worker:container_gateway`: its Redis connection (the tables), the upstream registry
 * client (the proxy's certificate unless the registry has its own settings) and the RPC worker.
 */
import { ProxyhubError } from '../contracts/errors.ts';
import type { Topology } from '../contracts/topology.ts';
import type { Consumer, Publisher } from '../hub/bus/transport.ts';
import type { Config } from '../hub/config/schema.ts';
import { createGatewayStore } from '../hub/container-gateway/gateway-store.ts';
import { createRedisConnection } from '../hub/jobs/redis.ts';
import { redisTargetOf } from '../hub/jobs/redis-target.ts';
import type { Logger } from '../hub/log/logger.ts';
import { createGatewayWorker } from '../workers/container-gateway/gateway-worker.ts';
import { createKatello } from '../workers/container-gateway/katello.ts';
import { createRegistryClient } from '../workers/container-gateway/registry-client.ts';
import type { ForemanClient } from '../workers/runtime/foreman-client.ts';
import type { RpcServer } from '../workers/runtime/rpc-server.ts';
import type { Closer } from './closer.ts';
import type { Telemetry } from '../hub/telemetry/telemetry.ts';

export interface GatewayWiring {
  readonly consumer: Consumer;
  readonly publisher: Publisher;
  readonly topology: Topology;
  readonly logger: Logger;
  readonly instanceId: string;
  readonly closers: Closer[];
  readonly foreman: ForemanClient;
  readonly telemetry: Telemetry;
}

/** The worker, not yet started (the caller lists it for closing first). */
export function createContainerGateway(config: Config, wiring: GatewayWiring): RpcServer {
  const settings = config.containerGateway;
  if (settings.registryUrl === undefined) throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', 'worker:container_gateway needs PROXYHUB_CONTAINER_REGISTRY_URL');
  const redis = createRedisConnection(redisTargetOf(config), { name: `proxyhub ${wiring.instanceId} container gateway`, profile: 'jobs-fail-fast', logger: wiring.logger });
  wiring.closers.push({ name: 'container gateway redis', close: () => redis.quit().then(() => undefined, () => redis.disconnect()) });
  wiring.telemetry.health.add('redis (container gateway)', () => (redis.status === 'ready' ? true : `container gateway tables connection ${redis.status}`));
  const registry = createRegistryClient({
    url: settings.registryUrl,
    cert: settings.cert ?? config.foreman.cert,
    key: settings.key ?? config.foreman.key,
    ca: settings.ca ?? config.foreman.ca,
    timeoutMs: settings.timeoutMs,
  });
  wiring.closers.push({ name: 'registry client', close: () => registry.close() });
  return createGatewayWorker({
    consumer: wiring.consumer,
    publisher: wiring.publisher,
    topology: wiring.topology,
    logger: wiring.logger,
    store: createGatewayStore(redis, wiring.topology),
    registry,
    katello: createKatello(wiring.foreman),
    clientEndpoint: new URL(settings.clientEndpoint ?? new URL(settings.registryUrl).origin),
    callTimeoutMs: settings.timeoutMs,
    prefetch: config.worker.prefetch,
    tracing: wiring.telemetry.tracing,
  });
}

