/**
 * The whole configuration as one zod schema: each key declares here, once, its type and default,
 * its environment variable and what it means (`setting()`); the loader's variable map, the test
 * harness's environment and the README table are generated from it (hub/config/settings.ts).
 * Also the unsafe combinations that are refused. `loadConfig` parses it once at boot and freezes
 * the result.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS } from '../../contracts/capabilities.ts';
import { addressSchemes } from '../bus/amqp10/addresses.ts';
import { transportKinds } from '../bus/transport.ts';
import { setting } from './setting.ts';
import { brokerUrlList, csvList, sentinelUrlList, delayList, featureList, flag, milliseconds, port, positiveInt } from './values.ts';

const MiB = 1024 * 1024;

function listener(defaultPort: number, hostEnv: `PROXYHUB_${string}`, portEnv: `PROXYHUB_${string}`, what: string) {
  return z
    .strictObject({
      host: setting(z.string().min(1).default('127.0.0.1'), { env: hostEnv, doc: `address of the ${what}` }),
      port: setting(port.default(defaultPort), { env: portEnv, doc: `port of the ${what} (0: any free port)` }),
    })
    .prefault({});
}

export const configSchema = z.strictObject({
  amqpUrl: setting(brokerUrlList.default('amqp://127.0.0.1:5672'), {
    env: 'PROXYHUB_AMQP_URL',
    doc: "broker (`amqps://` for TLS); `amqp10://` / `amqp10s://` select AMQP 1.0. Several nodes of one cluster as a comma-separated list: each connection starts at a random one and fails over to the next (see Scale-out). Without credentials amqplib logs in as RabbitMQ's trial user: a local trial only; deployments give each role its own account (see \"Broker and Redis accounts\")",
  }),
  transport: setting(z.enum(transportKinds).optional(), {
    env: 'PROXYHUB_TRANSPORT',
    doc: '`amqp091` (amqplib) or `amqp10` (rhea); see Transports',
    shownDefault: '`amqp091` (`amqp10` with an `amqp10://` URL)',
  }),
  amqp10: z
    .strictObject({
      addressScheme: setting(z.enum(addressSchemes).default('rabbitmq3'), {
        env: 'PROXYHUB_AMQP10_ADDRESS_SCHEME',
        doc: `AMQP 1.0 only: how exchanges and queues become addresses, ${addressSchemes.map((scheme) => `\`${scheme}\``).join(', ')} (see Transports)`,
      }),
    })
    .prefault({}),
  redisUrl: setting(z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'), {
    env: 'PROXYHUB_REDIS_URL',
    doc: 'Redis (workers: delivered-id records; control and rex worker: REX jobs in BullMQ)',
  }),
  redisSentinel: z
    .strictObject({
      sentinels: setting(sentinelUrlList.optional(), {
        env: 'PROXYHUB_REDIS_SENTINELS',
        doc: 'Redis through Sentinel: the Sentinels, comma-separated, each `host:port` (port 26379 if left out) or a `redis://` / `rediss://` URL carrying their password and TLS (one for all). Set, every connection asks them for the master of `PROXYHUB_REDIS_SENTINEL_NAME`, and `PROXYHUB_REDIS_URL` only gives the data nodes\' user, password, database and TLS (see Scale-out)',
        shownDefault: 'unset (no Sentinel)',
      }),
      name: setting(z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'must be a Sentinel master group name (letters, digits, `_.:-`)').optional(), {
        env: 'PROXYHUB_REDIS_SENTINEL_NAME',
        doc: 'the master group the Sentinels monitor (`sentinel monitor <name> …`); required with `PROXYHUB_REDIS_SENTINELS`',
      }),
    })
    .prefault({}),
  mqttUrl: setting(z.string().default('mqtt://127.0.0.1:1883'), {
    env: 'PROXYHUB_MQTT_URL',
    doc: 'broker for REX pull-mode notifications (rex worker only); `mqtts://` presents the certificate below, and beyond loopback pull mode takes only `mqtts://` or `wss://`',
  }),
  mqttTls: z
    .strictObject({
      cert: setting(z.string().optional(), { env: 'PROXYHUB_MQTT_CERT', doc: 'client certificate the rex worker presents to an `mqtts://` broker', shownDefault: '`PROXYHUB_FOREMAN_CERT`' }),
      key: setting(z.string().optional(), { env: 'PROXYHUB_MQTT_KEY', doc: 'private key of that certificate', shownDefault: '`PROXYHUB_FOREMAN_KEY`' }),
      ca: setting(z.string().optional(), { env: 'PROXYHUB_MQTT_CA', doc: "the CA that verifies the MQTT broker's certificate", shownDefault: '`PROXYHUB_FOREMAN_CA`' }),
    })
    .prefault({}),
  prefix: setting(z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/).default('proxyhub'), { env: 'PROXYHUB_PREFIX', doc: 'namespace of every exchange, queue and Redis key' }),
  proxyName: setting(z.string().min(1).default(hostname()), {
    env: 'PROXYHUB_PROXY_NAME',
    doc: "the proxy's name as Foreman knows it (the `proxy` of host reports)",
    shownDefault: 'host name',
  }),
  foreman: z
    .strictObject({
      url: setting(z.url().optional(), { env: 'PROXYHUB_FOREMAN_URL', doc: 'Foreman base URL (workers and control only)' }),
      cert: setting(z.string().optional(), { env: 'PROXYHUB_FOREMAN_CERT', doc: 'client certificate presented to Foreman (with `PROXYHUB_FOREMAN_KEY`)' }),
      key: setting(z.string().optional(), { env: 'PROXYHUB_FOREMAN_KEY', doc: 'private key of that client certificate' }),
      ca: setting(z.string().optional(), { env: 'PROXYHUB_FOREMAN_CA', doc: "the CA that verifies Foreman's certificate" }),
      timeoutMs: setting(milliseconds.default(30_000), { env: 'PROXYHUB_FOREMAN_TIMEOUT_MS', doc: 'deadline of one call to Foreman' }),
      proxyId: setting(positiveInt.optional(), {
        env: 'PROXYHUB_FOREMAN_PROXY_ID',
        doc: "this proxy's id in Foreman; set, the control role pushes feature changes (`PUT …/smart_proxies/:id/refresh`)",
      }),
      apiUser: setting(z.string().min(1).optional(), {
        env: 'PROXYHUB_FOREMAN_API_USER',
        doc: 'Foreman user (with `edit_smart_proxies`) for that call (HTTP basic), with `PROXYHUB_FOREMAN_API_TOKEN`',
      }),
      apiToken: setting(z.string().min(1).optional(), { env: 'PROXYHUB_FOREMAN_API_TOKEN', doc: "that user's personal access token (or password)" }),
    })
    .prefault({}),
  ingress: listener(8443, 'PROXYHUB_INGRESS_HOST', 'PROXYHUB_INGRESS_PORT', 'client listener'),
  control: listener(9090, 'PROXYHUB_CONTROL_HOST', 'PROXYHUB_CONTROL_PORT', 'Foreman-facing listener'),
  tls: z
    .strictObject({
      cert: setting(z.string().optional(), { env: 'PROXYHUB_TLS_CERT', doc: 'server certificate of both listeners (with `PROXYHUB_TLS_KEY`)' }),
      key: setting(z.string().optional(), { env: 'PROXYHUB_TLS_KEY', doc: 'private key of the server certificate' }),
      ca: setting(z.string().optional(), { env: 'PROXYHUB_TLS_CA', doc: 'the CA that verifies client certificates' }),
    })
    .prefault({}),
  allowInsecure: setting(flag.default(false), {
    env: 'PROXYHUB_ALLOW_INSECURE',
    doc: 'allow plain HTTP on a non-loopback **ingress** address, behind a TLS-terminating front proxy (needs `PROXYHUB_FRONT_PROXIES`); never for the control listener',
  }),
  trustedHosts: setting(csvList.optional(), {
    env: 'PROXYHUB_TRUSTED_HOSTS',
    doc: "certificate CNs (Foreman's; on plain HTTP: host names) allowed on the control routes that act or expose host data; unset or empty refuses everyone",
    shownDefault: 'unset (nobody)',
    // `PROXYHUB_TRUSTED_HOSTS=` is the smart-proxy's `[]`, which refuses everyone; reading it as
    // unset would let the development flag open the routes.
    emptyIsValue: true,
  }),
  devOpenControl: setting(flag.default(false), {
    env: 'PROXYHUB_DEV_OPEN_CONTROL',
    doc: "loopback development only: with trusted_hosts unset, those routes are open to every caller; refused beyond loopback (`npm start`'s quick start sets it and says so)",
  }),
  devAnonymousUploads: setting(flag.default(false), {
    env: 'PROXYHUB_DEV_ANONYMOUS_UPLOADS',
    doc: "loopback development only: a plain-HTTP ingress with no `PROXYHUB_FRONT_PROXIES` (so no client identity) accepts uploads bound to no certificate; without it such an ingress refuses them (`npm start`'s quick start sets it and says so)",
  }),
  relayClients: setting(csvList.default([]), {
    env: 'PROXYHUB_RELAY_CLIENTS',
    doc: 'certificate CNs that may upload facts and reports for other hosts (the Puppet server running node.rb, an Ansible controller)',
  }),
  frontProxy: z
    .strictObject({
      addresses: setting(csvList.default([]), {
        env: 'PROXYHUB_FRONT_PROXIES',
        doc: "addresses of TLS-terminating front proxies of the **ingress**: a plain-HTTP request from one of them carries the client's verified CN in the identity header, which is ignored from any other peer. The control listener never believes that header: there a caller is its certificate, or on loopback plain HTTP its address",
      }),
      identityHeader: setting(z.string().regex(/^[A-Za-z0-9-]+$/).transform((name) => name.toLowerCase()).default('x-ssl-client-cn'), {
        env: 'PROXYHUB_FRONT_PROXY_IDENTITY_HEADER',
        doc: "the header such a proxy sets to the verified client certificate's CN",
      }),
    })
    .prefault({}),
  registrationUrl: setting(z.url().optional(), {
    env: 'PROXYHUB_REGISTRATION_URL',
    doc: "the smart-proxy's registration_url: proxy URL Foreman renders into registration scripts (`url=`)",
    shownDefault: 'the URL the client reached',
  }),
  templateUrl: setting(z.url().optional(), {
    env: 'PROXYHUB_TEMPLATE_URL',
    doc: "the smart-proxy's template_url: proxy URL Foreman renders into templates",
    shownDefault: 'the URL the client reached',
  }),
  rpcTimeoutMs: setting(z.coerce.number().int().min(100).max(55_000).default(30_000), {
    env: 'PROXYHUB_RPC_TIMEOUT_MS',
    doc: 'how long the ingress waits for a registration/template answer (100–55000)',
  }),
  features: setting(featureList.default(['openscap', 'registration', 'reports', 'templates']), {
    env: 'PROXYHUB_FEATURES',
    doc: 'smart-proxy features this deployment is expected to provide: `failed` in `/v2/features` while no live worker announces them, any other known one `disabled`',
  }),
  capabilities: z
    .strictObject({
      heartbeatMs: setting(z.coerce.number().int().min(MIN_HEARTBEAT_MS).max(MAX_HEARTBEAT_MS).default(2000), {
        env: 'PROXYHUB_HEARTBEAT_MS',
        doc: `capability heartbeat (${MIN_HEARTBEAT_MS}–${MAX_HEARTBEAT_MS}); an instance is expired after three missed`,
      }),
      refreshDebounceMs: setting(z.coerce.number().int().min(0).max(60_000).default(1000), {
        env: 'PROXYHUB_REFRESH_DEBOUNCE_MS',
        doc: 'quiet period after a feature change before Foreman is refreshed',
      }),
    })
    .prefault({}),
  dataDir: setting(z.string().default('./var'), {
    env: 'PROXYHUB_DATA_DIR',
    doc: "local state: the ARF store, policy file cache (shared by the openscap worker and the control role); the rex worker's SSH key pair and known_hosts (`ssh/`)",
  }),
  openscap: z
    .strictObject({
      proxyUrl: setting(z.url().optional(), {
        env: 'PROXYHUB_OPENSCAP_PROXY_URL',
        doc: "sent to Foreman with each report as `openscap_proxy_url` (the smart-proxy's `registered_proxy_url`; null when unset)",
      }),
      oscapPath: setting(z.string().min(1).default('oscap'), { env: 'PROXYHUB_OSCAP_PATH', doc: 'the `oscap` tool (from PATH by default) that renders stored reports as HTML' }),
      policyFileCacheBytes: setting(z.coerce.number().int().min(0).default(64 * MiB), {
        env: 'PROXYHUB_POLICY_FILE_CACHE_BYTES',
        doc: "SCAP content/tailoring files kept in the ingress's memory",
      }),
      // At most 256 MiB: past that one fix text or the serialized report could pass V8's longest string.
      maxReportBytes: setting(positiveInt.max(256 * MiB).default(64 * MiB), {
        env: 'PROXYHUB_ARF_REPORT_LIMIT',
        doc: 'largest JSON report (at most 256 MiB) the openscap worker builds from one ARF (counted while building); a larger one is dead-lettered as `PROXYHUB_ARF_REPORT_TOO_LARGE`',
      }),
      policyFileDiskCacheBytes: setting(z.coerce.number().int().min(0).default(512 * MiB), {
        env: 'PROXYHUB_POLICY_FILE_DISK_CACHE_BYTES',
        doc: 'SCAP content/tailoring files the openscap worker keeps in the data directory, least recently used out first (0 = none)',
      }),
    })
    .prefault({}),
  sshKey: setting(z.string().optional(), {
    env: 'PROXYHUB_SSH_KEY',
    doc: 'REX private key (made on first start when unset); its public half (`<key>.pub`) is served at `/ssh/pubkey`',
    shownDefault: '`<data dir>/ssh/id_proxyhub`',
  }),
  rex: z
    .strictObject({
      mode: setting(z.enum(['ssh', 'pull-mqtt']).default('ssh'), {
        env: 'PROXYHUB_REX_MODE',
        doc: "`ssh` (push) or `pull-mqtt` (hosts pull scripts after an MQTT notification), as the smart-proxy's `:mode:` in remote_execution_ssh.yml",
      }),
      concurrency: setting(positiveInt.default(50), { env: 'PROXYHUB_REX_CONCURRENCY', doc: 'REX jobs one rex worker process runs at once' }),
      globalConcurrency: setting(positiveInt.default(200), { env: 'PROXYHUB_REX_GLOBAL_CONCURRENCY', doc: 'REX jobs all rex workers together run at once (BullMQ global concurrency)' }),
      lockMs: setting(z.coerce.number().int().min(1000).default(30_000), {
        env: 'PROXYHUB_REX_LOCK_MS',
        doc: 'a running job whose worker stops renewing its lock this long is reported as died',
      }),
      keepFinishedSeconds: setting(positiveInt.default(86_400), { env: 'PROXYHUB_REX_KEEP_FINISHED_SECONDS', doc: 'how long finished REX jobs stay readable through the task API' }),
      callbackBackoffMaxMs: setting(milliseconds.default(60_000), { env: 'PROXYHUB_REX_CALLBACK_BACKOFF_MAX_MS', doc: 'longest wait between two attempts to send a callback to Foreman' }),
      connectTimeoutMs: setting(milliseconds.default(15_000), { env: 'PROXYHUB_REX_CONNECT_TIMEOUT_MS', doc: 'SSH connect timeout' }),
      sshCaPublicKey: setting(z.string().optional(), { env: 'PROXYHUB_SSH_CA_PUBKEY', doc: 'SSH user-CA public key file served at `/ssh/ca_pubkey` (empty when unset)' }),
      pullUrl: setting(z.url().optional(), { env: 'PROXYHUB_REX_PULL_URL', doc: 'URL hosts fetch pull jobs from (the ingress)', shownDefault: "the launch's `proxy_url`" }),
      mqttTtlSeconds: setting(positiveInt.default(5), { env: 'PROXYHUB_MQTT_TTL_SECONDS', doc: "the smart-proxy's `mqtt_ttl`: the pull dispatcher's tick" }),
      mqttRateLimit: setting(z.coerce.number().int().min(0).default(0), {
        env: 'PROXYHUB_MQTT_RATE_LIMIT',
        doc: "the smart-proxy's `mqtt_rate_limit`: notified-but-unpicked plus running pull jobs at once (0 = unlimited)",
      }),
      mqttResendIntervalSeconds: setting(positiveInt.default(900), { env: 'PROXYHUB_MQTT_RESEND_INTERVAL_SECONDS', doc: "the smart-proxy's `mqtt_resend_interval`" }),
      timeToPickupSeconds: setting(positiveInt.default(86_400), {
        env: 'PROXYHUB_REX_TIME_TO_PICKUP_SECONDS',
        doc: "pull jobs not fetched by then end as EXCEPTION (a launch's `time_to_pickup` wins)",
      }),
      maxOutputBytes: setting(z.coerce.number().int().min(1024).default(4 * MiB), {
        env: 'PROXYHUB_REX_MAX_OUTPUT_BYTES',
        doc: 'output stored per REX job (push or pull) in Redis and sent to Foreman; past it one truncation notice, the rest dropped, the exit status still recorded',
      }),
    })
    .prefault({}),
  containerGateway: z
    .strictObject({
      registryUrl: setting(z.url().optional(), {
        env: 'PROXYHUB_CONTAINER_REGISTRY_URL',
        doc: "the upstream registry, the base under which its `/v2/` is found (Pulp: `https://<content proxy>/pulpcore_registry`); unset, `worker:container_gateway` does not start",
      }),
      clientEndpoint: setting(z.url().optional(), {
        env: 'PROXYHUB_CONTAINER_CLIENT_ENDPOINT',
        doc: "the plugin's `client_endpoint`: scheme and host put into the blob and manifest redirects clients follow (a load balancer's name)",
        shownDefault: "the registry URL's scheme and host",
      }),
      cert: setting(z.string().optional(), { env: 'PROXYHUB_CONTAINER_REGISTRY_CERT', doc: 'client certificate presented to the registry', shownDefault: '`PROXYHUB_FOREMAN_CERT`' }),
      key: setting(z.string().optional(), { env: 'PROXYHUB_CONTAINER_REGISTRY_KEY', doc: 'private key of that certificate', shownDefault: '`PROXYHUB_FOREMAN_KEY`' }),
      ca: setting(z.string().optional(), { env: 'PROXYHUB_CONTAINER_REGISTRY_CA', doc: "the CA that verifies the registry's certificate", shownDefault: '`PROXYHUB_FOREMAN_CA`' }),
      timeoutMs: setting(milliseconds.default(20_000), { env: 'PROXYHUB_CONTAINER_REGISTRY_TIMEOUT_MS', doc: 'deadline of one call to the registry' }),
    })
    .prefault({}),
  rhsm: z
    .strictObject({
      url: setting(z.url().optional(), {
        env: 'PROXYHUB_RHSM_URL',
        doc: 'where `worker:rhsm` sends `/rhsm` calls (Foreman with Katello), when not `PROXYHUB_FOREMAN_URL`; the proxy\'s Foreman certificate is presented either way',
        shownDefault: '`PROXYHUB_FOREMAN_URL`',
      }),
      forwardedHost: setting(z.string().regex(/^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$/, 'must be a host name').optional(), {
        env: 'PROXYHUB_RHSM_FORWARDED_HOST',
        doc: "client-facing name sent to Katello as `X-Forwarded-Host`: Katello makes the content proxy (or load balancer) with this host name the host's content source",
        shownDefault: 'the name the host used (its `Host`)',
      }),
      timeoutMs: setting(z.coerce.number().int().min(1000).max(170_000).default(120_000), {
        env: 'PROXYHUB_RHSM_TIMEOUT_MS',
        doc: "how long the ingress waits for Katello's answer to a synchronous `/rhsm` call before it answers 503 (1000–170000: below subscription-manager's 180 s `server_timeout`)",
      }),
      bodyBytes: setting(positiveInt.max(64 * MiB).default(8 * MiB), {
        env: 'PROXYHUB_RHSM_BODY_LIMIT',
        doc: '`/rhsm` request body limit, package profiles included (413 above)',
      }),
      coalesceMs: setting(z.coerce.number().int().min(0).max(60_000).default(2000), {
        env: 'PROXYHUB_RHSM_COALESCE_MS',
        doc: 'how long `worker:rhsm` holds a fresh profile or facts upload for a newer one from the same host, which then replaces it (0: deliver at once; older uploads are skipped either way)',
      }),
    })
    .prefault({}),
  startTimeoutMs: setting(milliseconds.default(60_000), {
    env: 'PROXYHUB_START_TIMEOUT_MS',
    doc: 'how long `proxyhub start` may take to connect and declare its topology before it logs the step it was waiting for and exits 1 (a wedged broker accepts TCP and never answers)',
  }),
  observability: z
    .strictObject({
      metricsReaders: setting(csvList.default([]), {
        env: 'PROXYHUB_METRICS_READERS',
        doc: "certificate CNs (on plain HTTP: host names, resolved as for trusted_hosts) that may read `/metrics` on the ingress and control listeners (a Prometheus server's); the control listener's trusted_hosts may as well; unset: hosts never read the ingress's",
      }),
      metricsHost: setting(z.string().min(1).default('127.0.0.1'), {
        env: 'PROXYHUB_METRICS_HOST',
        doc: 'address of the metrics port a process without a listener (a worker-only process) opens: `/metrics`, `/livez`, `/readyz`; plain HTTP without identity, so loopback unless `PROXYHUB_METRICS_ALLOW_REMOTE` says otherwise',
      }),
      metricsPort: setting(port.default(9464), {
        env: 'PROXYHUB_METRICS_PORT',
        doc: 'first port of the metrics ports: each worker feature adds its place, facts +0, reports +1, openscap +2, registration +3, container_gateway +4, rex +5, so that worker processes on one machine never collide (0: any free port)',
      }),
      metricsAllowRemote: setting(flag.default(false), {
        env: 'PROXYHUB_METRICS_ALLOW_REMOTE',
        doc: 'let `PROXYHUB_METRICS_HOST` be a non-loopback address (whoever reaches it reads the metrics and health; put a firewall in front)',
      }),
      accessLog: setting(flag.default(true), {
        env: 'PROXYHUB_ACCESS_LOG',
        doc: 'one log line per answered request on both listeners: method, route template, status, milliseconds, client CN and trace id',
      }),
    })
    .prefault({}),
  logLevel: setting(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), { env: 'PROXYHUB_LOG_LEVEL', doc: 'pino level' }),
  publish: z
    .strictObject({
      confirmTimeoutMs: setting(milliseconds.default(1000), { env: 'PROXYHUB_PUBLISH_CONFIRM_TIMEOUT_MS', doc: 'an upload the broker has not confirmed by then gets 503' }),
      maxUnconfirmed: setting(positiveInt.default(2000), { env: 'PROXYHUB_PUBLISH_MAX_UNCONFIRMED', doc: 'unconfirmed publishes per process; more wait, then 503' }),
    })
    .prefault({}),
  limits: z
    .strictObject({
      factsBodyBytes: setting(positiveInt.default(4 * MiB), { env: 'PROXYHUB_FACTS_BODY_LIMIT', doc: 'facts upload body limit (413 above)' }),
      reportBodyBytes: setting(positiveInt.default(8 * MiB), { env: 'PROXYHUB_REPORT_BODY_LIMIT', doc: 'report upload body limit (413 above)' }),
      arfBodyBytes: setting(positiveInt.max(64 * MiB).default(64 * MiB), {
        env: 'PROXYHUB_ARF_BODY_LIMIT',
        doc: "compressed ARF upload limit (foreman_scap_client sends bzip2; at most 64 MiB: the message, base64 inside the envelope, must stay under RabbitMQ 3.x's 128 MiB `max_message_size`; RabbitMQ 4 defaults to 16 MiB, so there raise `max_message_size` or set this to 12 MiB)",
      }),
      ratePerMinute: setting(z.coerce.number().int().min(0).default(600), {
        env: 'PROXYHUB_RATE_LIMIT_PER_MINUTE',
        doc: 'requests per client identity (certificate CN, else address) per minute (429 above; 0 = off)',
      }),
      headersTimeoutMs: setting(milliseconds.default(10_000), { env: 'PROXYHUB_HEADERS_TIMEOUT_MS', doc: 'a client must have sent all its headers by then (slowloris)' }),
      requestTimeoutMs: setting(milliseconds.default(60_000), {
        env: 'PROXYHUB_REQUEST_TIMEOUT_MS',
        doc: 'a whole request, body included, must have arrived by then; must exceed `PROXYHUB_RPC_TIMEOUT_MS` by more than a second',
      }),
      maxEventLoopDelayMs: setting(z.coerce.number().int().min(0).default(1000), {
        env: 'PROXYHUB_MAX_EVENT_LOOP_DELAY_MS',
        doc: 'load shedding: once a request would wait longer than this for the event loop, new requests get 503 until the loop has run below ¾ of it for a second (0 = off)',
      }),
      maxInflightRequests: setting(z.coerce.number().int().min(0).default(512), {
        env: 'PROXYHUB_MAX_INFLIGHT_REQUESTS',
        doc: 'load shedding: while a listener holds this many unanswered requests, new ones get 503; a freed slot is taken at once (0 = off; an ingress of several processes gives each its share)',
      }),
      ingressProcesses: setting(z.coerce.number().int().min(1).max(16).default(1), {
        env: 'PROXYHUB_INGRESS_PROCESSES',
        doc: "ingress processes sharing its port (one event loop each; connections handed out in turn, a crashed one restarted); they share `PROXYHUB_MAX_INFLIGHT_REQUESTS`, the ids of refused uploads and each client's rate-limit count (told to each other every 100 ms), so a client's limit holds whichever process its connections reach",
      }),
      listenerHeapGrowthPercent: setting(z.coerce.number().int().min(0).max(400).default(20), {
        env: 'PROXYHUB_LISTENER_HEAP_GROWTH_PERCENT',
        doc: "how far a listener process (ingress, control) lets its old generation grow past what its last full collection kept before collecting again: a busy ingress's garbage is freed sooner and it stays near 100 MiB instead of 130–170 (0 = V8's own growth, up to several times)",
      }),
      maxEventLoopUtilization: setting(z.coerce.number().min(0).max(1).default(0.98), {
        env: 'PROXYHUB_MAX_EVENT_LOOP_UTILIZATION',
        doc: 'deprecated, accepted and ignored: utilisation stays high while the process refuses work, so shedding on it fed itself (see `PROXYHUB_MAX_INFLIGHT_REQUESTS`)',
      }),
      rpcInflightBytes: setting(positiveInt.default(64 * MiB), {
        env: 'PROXYHUB_RPC_INFLIGHT_BYTES',
        doc: 'registration, template and REX update requests one ingress holds while workers answer (503 above)',
      }),
      maxEventStreams: setting(positiveInt.default(32), {
        env: 'PROXYHUB_MAX_EVENT_STREAMS',
        doc: 'capability event streams (`GET /capabilities/events`) one control process serves at once (503 above)',
      }),
    })
    .prefault({}),
  worker: z
    .strictObject({
      prefetch: setting(positiveInt.default(32), { env: 'PROXYHUB_WORKER_PREFETCH', doc: 'unacknowledged deliveries per consumer' }),
      retryDelaysMs: setting(delayList.default([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 120_000, 300_000]), {
        env: 'PROXYHUB_RETRY_DELAYS_MS',
        doc: 'delay tiers for transient failures: attempt n waits the n-th (the last one repeats)',
      }),
      retryDeadlineMs: setting(milliseconds.default(24 * 3600 * 1000), { env: 'PROXYHUB_RETRY_DEADLINE_MS', doc: 'after this long since acceptance a failing event is dead-lettered' }),
      upstreamPauseMaxMs: setting(milliseconds.default(30_000), { env: 'PROXYHUB_UPSTREAM_PAUSE_MAX_MS', doc: 'longest pause of all deliveries to Foreman after it failed' }),
      dedupTtlSeconds: setting(positiveInt.default(7 * 24 * 3600), { env: 'PROXYHUB_DEDUP_TTL_SECONDS', doc: 'how long a delivered event id is remembered to ignore redeliveries' }),
      shutdownGraceMs: setting(milliseconds.default(10_000), { env: 'PROXYHUB_SHUTDOWN_GRACE_MS', doc: 'grace period for in-flight work at shutdown' }),
      niceness: setting(z.coerce.number().int().min(0).max(19).default(10), {
        env: 'PROXYHUB_WORKER_NICENESS',
        doc: 'how many nice steps below its start a process running only facts, reports or openscap workers runs (their hosts were answered already): where it shares cores with an ingress, the answers get the CPU first and the deliveries wait in their queue (0 = the same priority)',
      }),
    })
    .prefault({}),
  // CPU-heavy parsing (ARF bzip2 + XML in the openscap worker, large YAML reports at the ingress)
  // runs in worker threads, so it never holds the event loop that answers clients.
  parse: z
    .strictObject({
      // Unset is resolved at start (cli/parse-settings.ts): a default computed here would put
      // this machine's CPU count in the generated README table.
      threads: setting(z.coerce.number().int().min(0).max(64).optional(), {
        env: 'PROXYHUB_PARSE_THREADS',
        doc: 'parse threads per process (started on first use; 0 = parse on the main thread)',
        shownDefault: 'min(2, CPUs)',
      }),
      queueLimit: setting(z.coerce.number().int().min(0).default(16), {
        env: 'PROXYHUB_PARSE_QUEUE_LIMIT',
        doc: 'bodies waiting for a busy parse thread per process; past it a large YAML report gets 503 `PROXYHUB_PARSE_QUEUE_FULL`',
      }),
      niceness: setting(z.coerce.number().int().min(0).max(19).default(10), {
        env: 'PROXYHUB_PARSE_THREAD_NICENESS',
        doc: 'how many nice steps below its process a parse thread runs (Linux): on a busy machine the event loops that answer hosts and Foreman get the CPU first, and parsing takes what is left (0 = the same priority)',
      }),
      yamlThresholdBytes: setting(z.coerce.number().int().min(0).default(256 * 1024), {
        env: 'PROXYHUB_YAML_THREAD_THRESHOLD_BYTES',
        doc: 'YAML reports above this size are parsed in a parse thread; smaller ones inline, where a thread hand-off would cost more than the parse',
      }),
    })
    .prefault({}),
}).superRefine((config, context) => {
  // Said once, at parse time: an amqp10:// URL cannot be spoken over 0-9-1.
  if (config.transport === 'amqp091' && /^amqp10s?:\/\//.test(config.amqpUrl)) {
    context.addIssue({ code: 'custom', path: ['transport'], message: 'amqp091 cannot use an amqp10:// URL; use amqp:// or set the transport to amqp10' });
  }
  // Half a Sentinel set-up would quietly fall back to the one Redis of PROXYHUB_REDIS_URL.
  const { sentinels, name } = config.redisSentinel;
  if (sentinels !== undefined && name === undefined) {
    context.addIssue({ code: 'custom', path: ['redisSentinel', 'name'], message: 'required with PROXYHUB_REDIS_SENTINELS: the master group the Sentinels monitor' });
  }
  if (name !== undefined && sentinels === undefined) {
    context.addIssue({ code: 'custom', path: ['redisSentinel', 'sentinels'], message: 'required with PROXYHUB_REDIS_SENTINEL_NAME: the Sentinels to ask for its master' });
  }
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = Readonly<z.output<typeof configSchema>>;
