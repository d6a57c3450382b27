/**
 * The deployment plan `proxyhub config check` prints: each listener (address, TLS and
 * client-certificate mode, the routes it serves with their checks) and the upstreams each part of
 * the process reaches. Routes come from building the real apps (never listening) with stand-ins
 * that refuse to be used, so the plan cannot drift from what `start` serves.
 */
import { httpSettingsFrom, ingressInflightShare } from './http-settings.ts';
import { runsDeferredWorkOnly } from './cpu-priority.ts';
import type { RouteEntry } from '../hub/http/route-table.ts';
import { createTopology } from '../contracts/topology.ts';
import { createLogger, redactUrl } from '../hub/log/logger.ts';
import { transportKindOf, type Publisher, type RpcClient } from '../hub/bus/transport.ts';
import type { RexTaskStore } from '../hub/jobs/rex-job-store.ts';
import type { GatewayStore } from '../hub/container-gateway/gateway-store.ts';
import type { DeadLetterService } from '../hub/control/dead-letters.ts';
import type { CapabilityService } from '../hub/control/capability-service.ts';
import type { RoleSet } from '../hub/config/roles.ts';
import { identityConfigured, isLoopback, metricsPortOf, tlsConfigured } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';
import { createHealth } from '../hub/telemetry/health.ts';
import { createHubMetrics } from '../hub/telemetry/metrics.ts';
import { describeRedis, redisTargetOf } from '../hub/jobs/redis-target.ts';

const refuse = (): never => {
  throw new Error('planning stand-in: not connected');
};
const planningPublisher: Publisher = { state: 'closed', start: refuse, publish: refuse, close: async () => undefined };
const planningDeadLetters: DeadLetterService = { list: refuse, show: refuse, replay: refuse, count: refuse };
const planningCapabilities: CapabilityService = { start: refuse, features: refuse, snapshot: refuse, eventIdOf: refuse, lastSeq: refuse, changesAfter: refuse, subscribe: refuse, instances: refuse, subscribeInstances: refuse, close: async () => undefined };
const planningRexJobs: RexTaskStore = { launch: refuse, job: refuse, batch: refuse, output: refuse, count: refuse, requestCancel: refuse, list: refuse };
const planningGateway: GatewayStore = { replaceRepositories: refuse, replaceUserRepositories: refuse, replaceHosts: refuse, replaceHostRepositories: refuse, updateHostRepositories: refuse, storeToken: refuse, users: refuse, tokenUser: refuse, isKnownHost: refuse, repositoryAccess: refuse, userMapped: refuse, hostMapped: refuse, repositories: refuse, userRepositories: refuse, hostRepositories: refuse };
const planningRpc: RpcClient = { start: refuse, request: refuse, close: async () => undefined };

type Listener = 'ingress' | 'control';

/**
 * One listener's routes, from building its app as start does (never listening). The app's module
 * is loaded here, not imported at the top: a running process logs its own plan, and an ingress
 * process must not carry the control listener's code (nor a worker either's) for it.
 */
export async function routeTable(config: Config, listener: Listener): Promise<RouteEntry[]> {
  const app = listener === 'ingress' ? await ingressPlanningApp(config) : await controlPlanningApp(config);
  await app.ready();
  const table = [...app.routeTable];
  await app.close();
  return table;
}

function planningParts(config: Config) {
  // As start builds them: the metrics and readiness routes exist only where there is something to report.
  return { logger: createLogger('silent'), http: httpSettingsFrom(config), observability: { metrics: createHubMetrics({ processMetrics: false }), health: createHealth() } };
}

async function ingressPlanningApp(config: Config) {
  const { buildIngressApp } = await import('../hub/ingress/app.ts');
  const { logger, http, observability } = planningParts(config);
  return buildIngressApp({ publisher: planningPublisher, eventsExchange: createTopology(config.prefix).eventsExchange, logger, instanceId: 'plan', limits: config.limits, http, rpc: { client: planningRpc, queue: 'plan', timeoutMs: config.rpcTimeoutMs }, policyFiles: { queue: 'plan', cacheBytes: 0 }, rex: { queue: 'plan' }, containerGateway: { queue: 'plan' }, rhsm: { queue: 'plan', timeoutMs: config.rhsm.timeoutMs, bodyLimit: config.rhsm.bodyBytes }, relayClients: config.relayClients, observability });
}

async function controlPlanningApp(config: Config) {
  const [{ buildControlApp }, { ArfStore }] = await Promise.all([import('../hub/control/app.ts'), import('../hub/storage/arf-store.ts')]);
  const { logger, http, observability } = planningParts(config);
  return buildControlApp({ publisher: planningPublisher, logger, version: 'plan', deadLetters: planningDeadLetters, http, templateUrl: config.templateUrl, compliance: { store: new ArfStore(config.dataDir), oscapPath: config.openscap.oscapPath }, capabilities: planningCapabilities, expectedFeatures: config.features, rexJobs: planningRexJobs, containerGateway: planningGateway, maxEventStreams: config.limits.maxEventStreams, observability, status: { topology: createTopology(config.prefix), openQueueBrowser: refuse, jobBoard: [] } });
}

/** Both listeners' routes (the generated docs and the route tests read them all). */
export async function routeTables(config: Config): Promise<{ ingress: RouteEntry[]; control: RouteEntry[] }> {
  const [ingress, control] = await Promise.all([routeTable(config, 'ingress'), routeTable(config, 'control')]);
  return { ingress, control };
}

type ListenerName = 'ingress' | 'control';

/** Whether callers on this listener have an identity: front proxies speak for hosts on the ingress only (hub/http/guards.ts). */
function listenerHasIdentity(name: ListenerName, config: Config): boolean {
  return name === 'ingress' ? identityConfigured(config) : tlsConfigured(config);
}

function tlsLine(name: ListenerName, config: Config): string {
  if (name === 'ingress' && !tlsConfigured(config) && config.frontProxy.addresses.length > 0) {
    return `plain HTTP behind the front proxies ${config.frontProxy.addresses.join(', ')}: client identity from their ${config.frontProxy.identityHeader} header only`;
  }
  if (!tlsConfigured(config) && name === 'control') return `plain HTTP (no TLS): no client identity, callers known by their address (loopback only)${config.frontProxy.addresses.length > 0 ? '; front proxies are not believed here' : ''}`;
  if (!tlsConfigured(config)) return `plain HTTP (no TLS): no client identity, upload routes ${config.devAnonymousUploads ? 'open (PROXYHUB_DEV_ANONYMOUS_UPLOADS)' : 'refused'} (loopback only)`;
  if (!config.tls.ca) return 'HTTPS, TLS 1.2+; no PROXYHUB_TLS_CA: client certificates cannot be verified';
  return `HTTPS, TLS 1.2+; client certificates requested and verified against ${config.tls.ca}; required where a route says so`;
}

function trustedHostsLine(config: Config): string {
  if (config.trustedHosts === undefined && config.devOpenControl) {
    return 'trusted_hosts: unset, PROXYHUB_DEV_OPEN_CONTROL=1 — DEVELOPMENT ONLY: every caller that reaches this loopback listener may launch REX jobs, replay dead letters and read host data';
  }
  if (config.trustedHosts === undefined || config.trustedHosts.length === 0) {
    return 'trusted_hosts: unset or empty (protected routes refuse everyone; list Foreman’s CN in PROXYHUB_TRUSTED_HOSTS)';
  }
  return `trusted_hosts: ${config.trustedHosts.join(', ')}`;
}

function relayLine(config: Config): string {
  if (config.relayClients.length === 0) return 'uploads: each host uploads only for itself (the name in facts and reports must be its certificate CN)';
  return `uploads: each host only for itself; relay clients that may upload for any host: ${config.relayClients.join(', ')}`;
}

/** On plain HTTP there is no certificate to require; trusted_hosts falls back to resolved addresses. */
function guardLabel(guard: RouteEntry['guard'], name: ListenerName, config: Config): string {
  const identity = listenerHasIdentity(name, config);
  if (guard === 'metrics readers') {
    const readers = config.observability.metricsReaders.length === 0 ? 'none listed: refused' : config.observability.metricsReaders.join(', ');
    return `PROXYHUB_METRICS_READERS (${readers})${identity ? '' : ' by the addresses their names resolve to (no TLS)'}`;
  }
  if (identity || guard === 'open') return guard;
  if (guard === 'trusted_hosts or metrics readers + client certificate') return 'trusted_hosts or PROXYHUB_METRICS_READERS by the addresses their names resolve to (no TLS)';
  if (guard !== 'client certificate') return 'trusted_hosts by the addresses their names resolve to (no TLS)';
  return config.devAnonymousUploads ? 'open (PROXYHUB_DEV_ANONYMOUS_UPLOADS: bound to no certificate)' : 'refused (no client identity: no TLS, no PROXYHUB_FRONT_PROXIES)';
}

function listenerLines(name: ListenerName, listener: { host: string; port: number }, config: Config, routes: readonly RouteEntry[], reaches: string): string[] {
  const scheme = tlsConfigured(config) ? 'https' : 'http';
  const width = Math.max(...routes.map((r) => `${r.method} ${r.url}`.length));
  const share = ingressInflightShare(config);
  return [
    `${name} listener ${scheme}://${listener.host}:${listener.port}`,
    ...(name === 'ingress' && config.limits.ingressProcesses > 1 ? [`    ${config.limits.ingressProcesses} processes on this port (PROXYHUB_INGRESS_PROCESSES), ${config.limits.maxInflightRequests === 0 ? 'no cap on unanswered requests' : `${share} unanswered request${share === 1 ? '' : 's'} each`}`] : []),
    `    ${tlsLine(name, config)}`,
    ...(name === 'control' ? [`    ${trustedHostsLine(config)}`] : [`    ${relayLine(config)}`]),
    '    routes:',
    ...routes.map((r) => `      ${`${r.method} ${r.url}`.padEnd(width)}  ${guardLabel(r.guard, name, config)}`),
    `    reaches: ${reaches}`,
    // Every listener runs in a process of its own (several roles are supervised children).
    `    ${heapLine(config)}`,
  ];
}

function heapLine(config: Config): string {
  const percent = config.limits.listenerHeapGrowthPercent;
  return percent === 0 ? 'heap: grown as V8 decides (PROXYHUB_LISTENER_HEAP_GROWTH_PERCENT=0)' : `heap: old generation collected once it grows ${percent} % past what is live (PROXYHUB_LISTENER_HEAP_GROWTH_PERCENT)`;
}

export async function describePlan(config: Config, roles: RoleSet): Promise<string> {
  const amqp10 = transportKindOf(config.amqpUrl, config.transport) === 'amqp10';
  const broker = `broker ${redactUrl(config.amqpUrl)}${amqp10 ? ` (AMQP 1.0, ${config.amqp10.addressScheme} addresses)` : ''}`;
  const foreman = `Foreman ${config.foreman.url ?? '(not set)'} (${config.foreman.cert ? `client certificate ${config.foreman.cert}` : 'no client certificate'}; server verified against ${config.foreman.ca ?? 'the system CAs'}; ${config.foreman.timeoutMs} ms per call)`;
  const lines = [
    `process roles: ${[roles.ingress && 'ingress', roles.control && 'control', ...roles.workers.map((w) => `worker:${w}`)].filter(Boolean).join(', ')}`,
    `namespace: ${config.prefix} (exchanges, queues, Redis keys)`,
  ];
  if (roles.ingress) lines.push(...listenerLines('ingress', config.ingress, config, await routeTable(config, 'ingress'), `${broker} only (no Foreman, no Redis)`));
  if (roles.control) {
    lines.push(...listenerLines('control', config.control, config, await routeTable(config, 'control'), `${broker}, Redis ${describeRedis(redisTargetOf(config))} (REX jobs, container gateway tables)${config.foreman.proxyId === undefined ? '' : `, ${foreman} for the refresh push`}`));
    const push = config.foreman.proxyId === undefined
      ? 'off (PROXYHUB_FOREMAN_PROXY_ID unset: Foreman sees changes only when someone refreshes the proxy)'
      : `PUT ${config.foreman.url ?? '(Foreman URL not set)'}/api/v2/smart_proxies/${config.foreman.proxyId}/refresh ${config.foreman.apiUser ? `as ${config.foreman.apiUser}` : 'with the client certificate only'}, ${config.capabilities.refreshDebounceMs} ms after the last change`;
    lines.push(`    features expected (failed in /v2/features while no worker runs them): ${config.features.join(', ') || '(none)'}`, `    Foreman refresh push: ${push}`);
  }
  if (roles.workers.length > 0) {
    lines.push(`workers: ${roles.workers.join(', ')}`, `    reach: ${broker}, Redis ${describeRedis(redisTargetOf(config))}, ${foreman}`);
    lines.push(`    retries: ${config.worker.retryDelaysMs.join(', ')} ms; dead-lettered after ${Math.round(config.worker.retryDeadlineMs / 60_000)} min`);
    if (runsDeferredWorkOnly(roles)) lines.push(`    CPU priority: ${config.worker.niceness === 0 ? 'as started (PROXYHUB_WORKER_NICENESS=0)' : `${config.worker.niceness} nice steps below its start (PROXYHUB_WORKER_NICENESS): an ingress on the same cores answers first`}`);
    if (!roles.ingress && !roles.control) {
      const { metricsHost } = config.observability;
      const metricsPort = metricsPortOf(roles, config.observability.metricsPort);
      lines.push(`    metrics port: http://${metricsHost}:${metricsPort === 0 ? '<any free port>' : metricsPort} (/metrics, /livez, /readyz; plain HTTP, no identity${isLoopback(metricsHost) ? ', loopback' : ', PROXYHUB_METRICS_ALLOW_REMOTE'})`);
    }
    if (roles.workers.includes('container_gateway')) {
      const gateway = config.containerGateway;
      lines.push(`    container_gateway: registry ${redactUrl(gateway.registryUrl ?? '')}; redirects to ${gateway.clientEndpoint ?? 'the registry URL'}; tables in Redis under ${config.prefix}:container-gateway:`);
    }
    if (roles.workers.includes('rhsm')) {
      const rhsm = config.rhsm;
      lines.push(`    rhsm: /rhsm calls to ${redactUrl(rhsm.url ?? config.foreman.url ?? '(Foreman URL not set)')} with the host's verified certificate; X-Forwarded-Host ${rhsm.forwardedHost ?? "the host's own Host"}; answered within ${rhsm.timeoutMs} ms or 503; uploads coalesced for ${rhsm.coalesceMs} ms`);
    }
    if (roles.workers.includes('rex')) {
      const key = config.sshKey ?? `${config.dataDir}/ssh/id_proxyhub (made on first start)`;
      const hosts = config.rex.mode === 'ssh' ? 'target hosts over SSH' : `hosts notified over MQTT ${redactUrl(config.mqttUrl)}`;
      lines.push(`    rex: mode ${config.rex.mode}; ${hosts}; SSH key ${key}; ${config.rex.concurrency} jobs per process, ${config.rex.globalConcurrency} over all`);
    }
  }
  lines.push(`capabilities: announced on ${createTopology(config.prefix).capabilitiesExchange} every ${config.capabilities.heartbeatMs} ms, expired after ${3 * config.capabilities.heartbeatMs} ms without one, withdrawn at shutdown`);
  return lines.join('\n');
}
