/**
 * Reads the configuration once: the YAML file named by PROXYHUB_CONFIG, then one environment
 * variable per key on top. This is the only module that reads `process.env` for settings.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ProxyhubError, errorMessage } from '../../contracts/errors.ts';
import { configSchema, type Config } from './schema.ts';

/** Environment variable → dotted path in the schema. */
export const environmentVariables: Readonly<Record<string, string>> = {
  PROXYHUB_AMQP_URL: 'amqpUrl',
  PROXYHUB_TRANSPORT: 'transport',
  PROXYHUB_AMQP10_ADDRESS_SCHEME: 'amqp10.addressScheme',
  PROXYHUB_REDIS_URL: 'redisUrl',
  PROXYHUB_MQTT_URL: 'mqttUrl',
  PROXYHUB_PREFIX: 'prefix',
  PROXYHUB_PROXY_NAME: 'proxyName',
  PROXYHUB_FOREMAN_URL: 'foreman.url',
  PROXYHUB_FOREMAN_CERT: 'foreman.cert',
  PROXYHUB_FOREMAN_KEY: 'foreman.key',
  PROXYHUB_FOREMAN_CA: 'foreman.ca',
  PROXYHUB_FOREMAN_TIMEOUT_MS: 'foreman.timeoutMs',
  PROXYHUB_FOREMAN_PROXY_ID: 'foreman.proxyId',
  PROXYHUB_FOREMAN_API_USER: 'foreman.apiUser',
  PROXYHUB_FOREMAN_API_TOKEN: 'foreman.apiToken',
  PROXYHUB_FEATURES: 'features',
  PROXYHUB_HEARTBEAT_MS: 'capabilities.heartbeatMs',
  PROXYHUB_REFRESH_DEBOUNCE_MS: 'capabilities.refreshDebounceMs',
  PROXYHUB_INGRESS_HOST: 'ingress.host',
  PROXYHUB_INGRESS_PORT: 'ingress.port',
  PROXYHUB_CONTROL_HOST: 'control.host',
  PROXYHUB_CONTROL_PORT: 'control.port',
  PROXYHUB_TLS_CERT: 'tls.cert',
  PROXYHUB_TLS_KEY: 'tls.key',
  PROXYHUB_TLS_CA: 'tls.ca',
  PROXYHUB_ALLOW_INSECURE: 'allowInsecure',
  PROXYHUB_TRUSTED_HOSTS: 'trustedHosts',
  PROXYHUB_DEV_OPEN_CONTROL: 'devOpenControl',
  PROXYHUB_RELAY_CLIENTS: 'relayClients',
  PROXYHUB_FRONT_PROXIES: 'frontProxy.addresses',
  PROXYHUB_FRONT_PROXY_IDENTITY_HEADER: 'frontProxy.identityHeader',
  PROXYHUB_REGISTRATION_URL: 'registrationUrl',
  PROXYHUB_TEMPLATE_URL: 'templateUrl',
  PROXYHUB_RPC_TIMEOUT_MS: 'rpcTimeoutMs',
  PROXYHUB_DATA_DIR: 'dataDir',
  PROXYHUB_OPENSCAP_PROXY_URL: 'openscap.proxyUrl',
  PROXYHUB_OSCAP_PATH: 'openscap.oscapPath',
  PROXYHUB_POLICY_FILE_CACHE_BYTES: 'openscap.policyFileCacheBytes',
  PROXYHUB_ARF_REPORT_LIMIT: 'openscap.maxReportBytes',
  PROXYHUB_POLICY_FILE_DISK_CACHE_BYTES: 'openscap.policyFileDiskCacheBytes',
  PROXYHUB_SSH_KEY: 'sshKey',
  PROXYHUB_SSH_CA_PUBKEY: 'rex.sshCaPublicKey',
  PROXYHUB_REX_MODE: 'rex.mode',
  PROXYHUB_REX_CONCURRENCY: 'rex.concurrency',
  PROXYHUB_REX_GLOBAL_CONCURRENCY: 'rex.globalConcurrency',
  PROXYHUB_REX_LOCK_MS: 'rex.lockMs',
  PROXYHUB_REX_KEEP_FINISHED_SECONDS: 'rex.keepFinishedSeconds',
  PROXYHUB_REX_CALLBACK_BACKOFF_MAX_MS: 'rex.callbackBackoffMaxMs',
  PROXYHUB_REX_CONNECT_TIMEOUT_MS: 'rex.connectTimeoutMs',
  PROXYHUB_REX_PULL_URL: 'rex.pullUrl',
  PROXYHUB_MQTT_TTL_SECONDS: 'rex.mqttTtlSeconds',
  PROXYHUB_MQTT_RATE_LIMIT: 'rex.mqttRateLimit',
  PROXYHUB_MQTT_RESEND_INTERVAL_SECONDS: 'rex.mqttResendIntervalSeconds',
  PROXYHUB_REX_TIME_TO_PICKUP_SECONDS: 'rex.timeToPickupSeconds',
  PROXYHUB_REX_MAX_OUTPUT_BYTES: 'rex.maxOutputBytes',
  PROXYHUB_LOG_LEVEL: 'logLevel',
  PROXYHUB_PUBLISH_CONFIRM_TIMEOUT_MS: 'publish.confirmTimeoutMs',
  PROXYHUB_PUBLISH_MAX_UNCONFIRMED: 'publish.maxUnconfirmed',
  PROXYHUB_FACTS_BODY_LIMIT: 'limits.factsBodyBytes',
  PROXYHUB_REPORT_BODY_LIMIT: 'limits.reportBodyBytes',
  PROXYHUB_ARF_BODY_LIMIT: 'limits.arfBodyBytes',
  PROXYHUB_RATE_LIMIT_PER_MINUTE: 'limits.ratePerMinute',
  PROXYHUB_HEADERS_TIMEOUT_MS: 'limits.headersTimeoutMs',
  PROXYHUB_REQUEST_TIMEOUT_MS: 'limits.requestTimeoutMs',
  PROXYHUB_MAX_EVENT_LOOP_DELAY_MS: 'limits.maxEventLoopDelayMs',
  PROXYHUB_MAX_EVENT_LOOP_UTILIZATION: 'limits.maxEventLoopUtilization',
  PROXYHUB_RPC_INFLIGHT_BYTES: 'limits.rpcInflightBytes',
  PROXYHUB_MAX_EVENT_STREAMS: 'limits.maxEventStreams',
  PROXYHUB_WORKER_PREFETCH: 'worker.prefetch',
  PROXYHUB_RETRY_DELAYS_MS: 'worker.retryDelaysMs',
  PROXYHUB_RETRY_DEADLINE_MS: 'worker.retryDeadlineMs',
  PROXYHUB_UPSTREAM_PAUSE_MAX_MS: 'worker.upstreamPauseMaxMs',
  PROXYHUB_DEDUP_TTL_SECONDS: 'worker.dedupTtlSeconds',
  PROXYHUB_SHUTDOWN_GRACE_MS: 'worker.shutdownGraceMs',
};

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `cannot read config file ${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `config file ${path} must hold a YAML mapping`);
  }
  return parsed as Record<string, unknown>;
}

/** Parses file + environment; throws one error that lists every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = env.PROXYHUB_CONFIG ? readConfigFile(env.PROXYHUB_CONFIG) : {};
  for (const [variable, path] of Object.entries(environmentVariables)) {
    const value = env[variable];
    // Empty means unset, except for trusted hosts: there `PROXYHUB_TRUSTED_HOSTS=` is the
    // smart-proxy's `[]`, which refuses everyone (reading it as unset would allow everyone).
    if (value !== undefined && (value !== '' || variable === 'PROXYHUB_TRUSTED_HOSTS')) setPath(raw, path, value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.join('.');
      // A list variable's problem has the item index in its path: match the variable by prefix.
      const variable = Object.entries(environmentVariables).find(([, p]) => path === p || path.startsWith(`${p}.`))?.[0];
      return `  - ${path}${variable ? ` (${variable})` : ''}: ${issue.message}`;
    });
    throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
