/**
 * The client-facing listener. `buildIngressApp` never listens: the composition root does, and
 * tests drive the app through `inject()`. The ingress reaches the broker and nothing else.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { listenerOptions } from '../http/fastify-options.ts';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../log/logger.ts';
import type { Publisher } from '../bus/transport.ts';
import { registerGuards } from '../http/guards.ts';
import { observabilityRoutes, type ListenerObservability } from '../http/observability.ts';
import { trackRoutes } from '../http/route-table.ts';
import type { HttpSettings } from '../http/settings.ts';
import { createHostBinding } from './host-binding.ts';
import { factsRoutes } from './routes/facts.ts';
import { reportRoutes } from './routes/reports.ts';
import { foremanProxyRoutes } from './routes/foreman-proxy.ts';
import { complianceRoutes } from './routes/compliance.ts';
import type { RpcClient } from '../bus/transport.ts';
import { rexRoutes } from './routes/rex.ts';
import { containerGatewayRoutes } from './routes/container-gateway.ts';
import { rhsmRoutes } from './routes/rhsm.ts';
import { createRpcByteBudget } from './rpc-byte-budget.ts';
import { createYamlReader, type ParseSettings } from './yaml-reader.ts';
import { createResendIds } from './resend-ids.ts';
import { clusterResendShare } from './resend-share.ts';

export interface IngressDependencies {
  readonly publisher: Publisher;
  readonly eventsExchange: string;
  readonly logger: Logger;
  /** Identifies this process in every event's `source`. */
  readonly instanceId: string;
  readonly limits: { readonly factsBodyBytes: number; readonly reportBodyBytes: number; readonly arfBodyBytes: number; readonly rpcInflightBytes: number };
  readonly http: HttpSettings;
  /** Registration and templates: answered by the registration worker over the broker. */
  readonly rpc: { readonly client: RpcClient; readonly queue: string; readonly timeoutMs: number };
  /** SCAP policy files: asked of the openscap worker over the broker, kept in memory. */
  readonly policyFiles: { readonly queue: string; readonly cacheBytes: number };
  /** Pull-mode jobs and SSH keys: answered by the rex worker over the broker. */
  readonly rex: { readonly queue: string };
  /** Container registry requests: answered by the container gateway worker over the broker. */
  readonly containerGateway: { readonly queue: string };
  /** subscription-manager's `/rhsm`: synchronous calls answered by the rhsm worker over the broker, within their own budget. */
  readonly rhsm: { readonly queue: string; readonly timeoutMs: number; readonly bodyLimit: number };
  /** CNs that may upload facts and reports for other hosts (PROXYHUB_RELAY_CLIENTS). */
  readonly relayClients: readonly string[];
  /** Parse threads for large YAML reports. @defaultValue none: every body parsed inline */
  readonly parse?: ParseSettings;
  /** Metrics, tracing, health and the access log. @defaultValue none: `/livez` only, no `/metrics` */
  readonly observability?: ListenerObservability;
}

export async function buildIngressApp(deps: IngressDependencies): Promise<FastifyInstance> {
  const app = Fastify(listenerOptions({ logger: deps.logger, ...deps.http }));
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  trackRoutes(app);
  await registerGuards(app, deps.http, 'ingress', deps.observability);
  // Every client route takes JSON or YAML; fastify's default text/plain parser would let a
  // wrongly labelled body reach validation instead of answering 415.
  app.removeContentTypeParser('text/plain');

  const source = `proxyhub/ingress/${deps.instanceId}`;
  const resendIds = createResendIds({ share: clusterResendShare() });
  const accept = { publisher: deps.publisher, eventsExchange: deps.eventsExchange, resendIds, source, binding: createHostBinding(deps.relayClients) };
  await app.register(factsRoutes, { ...accept, bodyLimit: deps.limits.factsBodyBytes });
  const yaml = createYamlReader(deps.parse, deps.logger);
  app.addHook('onClose', () => yaml.close());
  await app.register(reportRoutes, { ...accept, bodyLimit: deps.limits.reportBodyBytes, yaml });
  await app.register(complianceRoutes, {
    ...accept,
    arfBodyLimit: deps.limits.arfBodyBytes,
    rpc: deps.rpc.client,
    rpcTimeoutMs: deps.rpc.timeoutMs,
    policyFileQueue: deps.policyFiles.queue,
    policyFileCacheBytes: deps.policyFiles.cacheBytes,
  });
  // One budget for every route whose body waits in this process for a worker's answer.
  const budget = createRpcByteBudget(deps.limits.rpcInflightBytes);
  await app.register(foremanProxyRoutes, { rpc: deps.rpc.client, queue: deps.rpc.queue, timeoutMs: deps.rpc.timeoutMs, bodyLimit: deps.limits.reportBodyBytes, budget, frontProxies: deps.http.frontProxy.addresses });

  await app.register(rexRoutes, { rpc: deps.rpc.client, queue: deps.rex.queue, timeoutMs: deps.rpc.timeoutMs, updateBodyLimit: deps.limits.reportBodyBytes, budget });

  await app.register(containerGatewayRoutes, { rpc: deps.rpc.client, queue: deps.containerGateway.queue, timeoutMs: deps.rpc.timeoutMs, frontProxies: deps.http.frontProxy.addresses });

  await app.register(rhsmRoutes, { publisher: deps.publisher, eventsExchange: deps.eventsExchange, resendIds, source, rpc: deps.rpc.client, queue: deps.rhsm.queue, timeoutMs: deps.rhsm.timeoutMs, bodyLimit: deps.rhsm.bodyLimit, budget });

  app.get('/healthz', { config: { rateLimit: false } }, (_request, reply) => {
    const state = deps.publisher.state;
    return reply.code(state === 'ready' ? 200 : 503).send({ role: 'ingress', broker: state });
  });
  observabilityRoutes(app, 'ingress', deps.observability ?? {});
  return app;
}
