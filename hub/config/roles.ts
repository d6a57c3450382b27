/**
 * Process roles and the safety rules between a role set and the configuration. A role set is
 * refused with the reason when it would expose the control plane or leak Foreman credentials.
 */
import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { ProxyhubError } from '../../contracts/errors.ts';
import { workerFeatures, type WorkerFeature } from '../../contracts/topology.ts';
import type { Config } from './schema.ts';
import type { Logger } from '../log/logger.ts';

export interface RoleSet {
  readonly ingress: boolean;
  readonly control: boolean;
  readonly workers: readonly WorkerFeature[];
}

export function parseRoles(spec: string): RoleSet {
  let ingress = false;
  let control = false;
  const workers = new Set<WorkerFeature>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (part === 'all') {
      ingress = true;
      control = true;
      for (const feature of workerFeatures) workers.add(feature);
    } else if (part === 'ingress') ingress = true;
    else if (part === 'control') control = true;
    else if (part.startsWith('worker:')) {
      const feature = part.slice('worker:'.length);
      if (!(workerFeatures as readonly string[]).includes(feature)) {
        throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `unknown worker feature "${feature}" (known: ${workerFeatures.join(', ')})`);
      }
      workers.add(feature as WorkerFeature);
    } else throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `unknown role "${part}" (use all, ingress, control or worker:<feature>)`);
  }
  if (!ingress && !control && workers.size === 0) throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', 'no role given');
  return Object.freeze({ ingress, control, workers: Object.freeze([...workers]) });
}

/**
 * `--role all` runs every worker feature, but the gateway only where a registry is configured:
 * without one it is left out (and said so), instead of refusing the whole hub.
 */
export function withoutUnconfiguredGateway(config: Config, roles: RoleSet, logger: Pick<Logger, 'info'> | undefined): RoleSet {
  if (config.containerGateway.registryUrl !== undefined || !roles.workers.includes('container_gateway')) return roles;
  logger?.info('worker:container_gateway not started: PROXYHUB_CONTAINER_REGISTRY_URL is unset');
  return Object.freeze({ ...roles, workers: Object.freeze(roles.workers.filter((name) => name !== 'container_gateway')) });
}

/**
 * Where each worker feature's metrics port sits above PROXYHUB_METRICS_PORT. Features are only
 * ever appended, so an upgrade never moves a running worker's port (dashboards and healthchecks
 * name them).
 */
export const metricsPortPlaces = ['facts', 'reports', 'openscap', 'registration', 'container_gateway', 'rex', 'rhsm'] as const satisfies readonly WorkerFeature[];

/**
 * The metrics port of a process without a listener: `base` plus the place of its (first) worker
 * feature in metricsPortPlaces. Each worker role keeps one port whether it runs as a separate
 * service or as a supervisor's child, and two workers on one machine never collide. 0 stays 0.
 */
export function metricsPortOf(roles: RoleSet, base: number): number {
  const first = roles.workers[0];
  return base === 0 || first === undefined ? base : base + (metricsPortPlaces as readonly WorkerFeature[]).indexOf(first);
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function tlsConfigured(config: Config): boolean {
  return Boolean(config.tls.cert && config.tls.key);
}

/** Whether listeners can tell who a client is: its TLS certificate, or a listed front proxy's header. */
export function identityConfigured(config: Config): boolean {
  return tlsConfigured(config) || config.frontProxy.addresses.length > 0;
}

function unreadable(variable: string, path: string | undefined): string[] {
  if (path === undefined) return [];
  try {
    accessSync(path, constants.R_OK);
    return [];
  } catch {
    return [`${variable} ${path} cannot be read`];
  }
}

function fileProblems(config: Config, roles: RoleSet): string[] {
  const listens = roles.ingress || roles.control;
  const callsForeman = roles.control || roles.workers.length > 0;
  return [
    ...(listens ? [...unreadable('PROXYHUB_TLS_CERT', config.tls.cert), ...unreadable('PROXYHUB_TLS_KEY', config.tls.key), ...unreadable('PROXYHUB_TLS_CA', config.tls.ca)] : []),
    ...(callsForeman ? [...unreadable('PROXYHUB_FOREMAN_CERT', config.foreman.cert), ...unreadable('PROXYHUB_FOREMAN_KEY', config.foreman.key), ...unreadable('PROXYHUB_FOREMAN_CA', config.foreman.ca)] : []),
  ];
}

/** Plain HTTP beyond loopback only behind a front proxy that tells who each client is. */
function ingressExposureProblems(config: Config, tls: boolean): string[] {
  const loopback = isLoopback(config.ingress.host);
  if (!loopback && config.devAnonymousUploads) {
    return [`PROXYHUB_DEV_ANONYMOUS_UPLOADS is for a loopback-only plain-HTTP ingress, not ${config.ingress.host}`];
  }
  if (tls || loopback) return [];
  if (!config.allowInsecure) {
    return [`ingress listener on ${config.ingress.host} would speak plain HTTP beyond loopback: set PROXYHUB_TLS_CERT/KEY/CA, or PROXYHUB_ALLOW_INSECURE=1 with PROXYHUB_FRONT_PROXIES behind a TLS-terminating proxy`];
  }
  if (config.frontProxy.addresses.length === 0) {
    return [`ingress listener on ${config.ingress.host} speaks plain HTTP (PROXYHUB_ALLOW_INSECURE) with no PROXYHUB_FRONT_PROXIES: it could not tell one host from another, so any client could upload for any host; list the TLS-terminating proxy's addresses, or use TLS`];
  }
  return [];
}

/**
 * Pull-mode notifications name every host's job, its effective user and the URL it fetches, and
 * a `cancel` on a host's topic stops its job: beyond loopback the rex worker speaks to the broker
 * over TLS only (`mqtts://`, presenting its certificate), as the smart-proxy does.
 */
function mqttExposureProblems(config: Config, roles: RoleSet): string[] {
  if (!roles.workers.includes('rex') || config.rex.mode !== 'pull-mqtt') return [];
  let url: URL;
  try {
    url = new URL(config.mqttUrl);
  } catch {
    return ['PROXYHUB_MQTT_URL is not a URL'];
  }
  const problems = [...unreadable('PROXYHUB_MQTT_CERT', config.mqttTls.cert), ...unreadable('PROXYHUB_MQTT_KEY', config.mqttTls.key), ...unreadable('PROXYHUB_MQTT_CA', config.mqttTls.ca)];
  if ((config.mqttTls.cert === undefined) !== (config.mqttTls.key === undefined)) problems.push('PROXYHUB_MQTT_CERT and PROXYHUB_MQTT_KEY must be set together');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // An allowlist: mqtt.js speaks plain MQTT for any scheme it does not know, and its ssl:// and
  // tls:// present no certificate of ours.
  if (url.protocol !== 'mqtts:' && url.protocol !== 'wss:' && !isLoopback(host)) {
    problems.push(`PROXYHUB_MQTT_URL ${url.protocol}//${url.host} is not mqtts:// or wss:// beyond loopback: anyone on that network could read every host's job notifications and send hosts cancel messages; use mqtts:// (the worker presents PROXYHUB_MQTT_CERT, else PROXYHUB_FOREMAN_CERT) on a broker that requires client certificates`);
  }
  return problems;
}

/**
 * The control listener launches jobs as root on hosts and exposes every host's data: beyond
 * loopback it needs TLS and a trusted_hosts list, with no opt-out.
 */
function controlExposureProblems(config: Config, tls: boolean): string[] {
  const problems: string[] = [];
  const loopback = isLoopback(config.control.host);
  if (!loopback && !tls) {
    problems.push(`control listener on ${config.control.host} would speak plain HTTP beyond loopback (PROXYHUB_ALLOW_INSECURE does not apply to it): set PROXYHUB_TLS_CERT/KEY/CA`);
  }
  if (!loopback && (config.trustedHosts === undefined || config.trustedHosts.length === 0)) {
    problems.push(`control listener on ${config.control.host} has no PROXYHUB_TRUSTED_HOSTS: list the certificate names of the Foreman servers allowed to launch jobs and read host data`);
  }
  if (!loopback && config.devOpenControl) {
    problems.push(`PROXYHUB_DEV_OPEN_CONTROL is for a loopback-only control listener, not ${config.control.host}`);
  }
  return problems;
}

/** Every reason this role set must not start with this configuration (empty when safe). */
export function deploymentProblems(config: Config, roles: RoleSet): string[] {
  const problems: string[] = fileProblems(config, roles);
  const tls = tlsConfigured(config);
  if ((config.tls.cert === undefined) !== (config.tls.key === undefined)) {
    problems.push('PROXYHUB_TLS_CERT and PROXYHUB_TLS_KEY must be set together');
  }
  if (tls && !config.tls.ca && (roles.ingress || roles.control)) {
    problems.push('TLS without PROXYHUB_TLS_CA: client certificates could not be verified, so every upload route and every trusted_hosts route would refuse');
  }
  if ((config.foreman.cert === undefined) !== (config.foreman.key === undefined)) {
    problems.push('PROXYHUB_FOREMAN_CERT and PROXYHUB_FOREMAN_KEY must be set together');
  }
  if (roles.ingress) problems.push(...ingressExposureProblems(config, tls));
  if (roles.control) problems.push(...controlExposureProblems(config, tls));
  problems.push(...mqttExposureProblems(config, roles));
  if (roles.ingress && roles.control && config.ingress.port === config.control.port && config.ingress.port !== 0) {
    problems.push('ingress and control listeners must use different ports: client routes and control routes never share a listener');
  }
  if (roles.ingress && config.limits.requestTimeoutMs <= config.rpcTimeoutMs + 1000) {
    problems.push(`PROXYHUB_REQUEST_TIMEOUT_MS (${config.limits.requestTimeoutMs}) must exceed PROXYHUB_RPC_TIMEOUT_MS (${config.rpcTimeoutMs}) by more than a second, or slow registrations end in a reset instead of a 504`);
  }
  const onlyIngress = roles.ingress && !roles.control && roles.workers.length === 0;
  if (onlyIngress && (config.foreman.url || config.foreman.cert || config.foreman.key)) {
    problems.push('an ingress-only process must not be given Foreman settings (PROXYHUB_FOREMAN_*): it reaches the broker only');
  }
  if ((config.foreman.apiUser === undefined) !== (config.foreman.apiToken === undefined)) {
    problems.push('PROXYHUB_FOREMAN_API_USER and PROXYHUB_FOREMAN_API_TOKEN must be set together');
  }
  if (onlyIngress && (config.foreman.apiUser || config.foreman.apiToken)) {
    problems.push('an ingress-only process must not be given Foreman API credentials (PROXYHUB_FOREMAN_API_*)');
  }
  // Workers run without a listener (alone, or as children of a supervisor): they open the metrics port.
  if (roles.workers.length > 0 && !isLoopback(config.observability.metricsHost) && !config.observability.metricsAllowRemote) {
    problems.push(`metrics port on ${config.observability.metricsHost} would serve metrics and health to anyone who reaches it (plain HTTP, no identity): keep PROXYHUB_METRICS_HOST on loopback, or set PROXYHUB_METRICS_ALLOW_REMOTE=1 behind a firewall`);
  }
  if ((roles.workers.length > 0 || roles.control) && !config.foreman.url) {
    problems.push('workers and control need PROXYHUB_FOREMAN_URL');
  }
  return problems;
}
