/**
 * The whole configuration as one zod schema: defaults, descriptions and the unsafe
 * combinations that are refused. `loadConfig` parses it once at boot and freezes the result.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS, smartProxyFeatures } from '../../contracts/capabilities.ts';
import { addressSchemes } from '../bus/amqp10/addresses.ts';
import { transportKinds } from '../bus/transport.ts';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const milliseconds = z.coerce.number().int().min(1);
const csvList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : value),
  z.array(z.string()),
);
const featureList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : value),
  z.array(z.enum(smartProxyFeatures)),
);
const delayList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(',').map((s) => Number(s.trim())) : value),
  z.array(z.number().int().min(10)).min(1),
);
const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off'];
const flag = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const word = value.toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  return FALSE_WORDS.includes(word) ? false : value;
}, z.boolean({ error: `expected one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}` }));

function listener(defaultPort: number) {
  return z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: port.default(defaultPort) }).prefault({});
}

export const configSchema = z.strictObject({
  /**
   * Without credentials amqplib logs in as RabbitMQ's built-in trial user: fine for a local trial
   * only. Deployments give each role its own account (`proxyhub broker setup`).
   * @defaultValue amqp://127.0.0.1:5672
   */
  amqpUrl: z.string().regex(/^amqp(10)?s?:\/\//, 'must be an amqp://, amqps://, amqp10:// or amqp10s:// URL').default('amqp://127.0.0.1:5672'),
  /** AMQP 0-9-1 (amqplib) or AMQP 1.0 (rhea); an amqp10:// URL implies amqp10. @defaultValue amqp091 */
  transport: z.enum(transportKinds).optional(),
  amqp10: z
    .strictObject({
      /** How exchanges and queues become AMQP 1.0 addresses (README, "Transports"). @defaultValue rabbitmq3 */
      addressScheme: z.enum(addressSchemes).default('rabbitmq3'),
    })
    .prefault({}),
  /** @defaultValue redis://127.0.0.1:6379 */
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  /** @defaultValue mqtt://127.0.0.1:1883 */
  mqttUrl: z.string().default('mqtt://127.0.0.1:1883'),
  /** Namespace of every exchange, queue and Redis key. @defaultValue proxyhub */
  prefix: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/).default('proxyhub'),
  /** The name Foreman knows this proxy by; reports carry it as `proxy`. @defaultValue the host name */
  proxyName: z.string().min(1).default(hostname()),
  foreman: z
    .strictObject({
      url: z.url().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      ca: z.string().optional(),
      /** Whole-request timeout for one call to Foreman. @defaultValue 30000 */
      timeoutMs: milliseconds.default(30_000),
      /** This proxy's id in Foreman: with it, the control role pushes feature changes (`PUT …/smart_proxies/:id/refresh`). */
      proxyId: positiveInt.optional(),
      /** Foreman user for that API call (HTTP basic), with `apiToken`: a personal access token or password. */
      apiUser: z.string().min(1).optional(),
      apiToken: z.string().min(1).optional(),
    })
    .prefault({}),
  /** Client listener. @defaultValue 127.0.0.1:8443 */
  ingress: listener(8443),
  /** Foreman-facing listener. @defaultValue 127.0.0.1:9090 */
  control: listener(9090),
  tls: z.strictObject({ cert: z.string().optional(), key: z.string().optional(), ca: z.string().optional() }).prefault({}),
  /**
   * Allow plain HTTP on a non-loopback ingress address, behind a TLS-terminating front proxy
   * (`frontProxy`); the control listener never speaks plain HTTP beyond loopback. @defaultValue false
   */
  allowInsecure: flag.default(false),
  /**
   * Certificate CNs (on plain HTTP: host names) allowed on the control routes that act or expose
   * host data. Unset or empty: nobody, unless `devOpenControl` on a loopback-only listener.
   * @defaultValue nobody
   */
  trustedHosts: csvList.optional(),
  /**
   * Loopback development only: with trusted_hosts unset, the protected control routes are open to
   * every caller. Refused on a control listener beyond loopback. @defaultValue false
   */
  devOpenControl: flag.default(false),
  /**
   * Client certificate CNs that may upload facts and reports for other hosts (a Puppet server
   * whose node.rb uploads for all its nodes, an Ansible controller). @defaultValue none
   */
  relayClients: csvList.default([]),
  frontProxy: z
    .strictObject({
      /**
       * Addresses of TLS-terminating front proxies. A request on plain HTTP from one of them
       * carries the client's verified CN in `identityHeader`; that header is ignored from any
       * other peer. @defaultValue none
       */
      addresses: csvList.default([]),
      /** The header a front proxy sets to the verified client certificate's CN. @defaultValue x-ssl-client-cn */
      identityHeader: z.string().regex(/^[A-Za-z0-9-]+$/).transform((name) => name.toLowerCase()).default('x-ssl-client-cn'),
    })
    .prefault({}),
  /** The smart-proxy's registration_url: the proxy URL registered hosts are told to use. @defaultValue the URL the client reached */
  registrationUrl: z.url().optional(),
  /** The smart-proxy's template_url: the proxy URL templates point hosts at. @defaultValue the URL the client reached */
  templateUrl: z.url().optional(),
  /** How long the ingress waits for a registration/template answer. @defaultValue 30000 */
  rpcTimeoutMs: z.coerce.number().int().min(100).max(55_000).default(30_000),
  /**
   * Smart-proxy features this deployment is expected to provide: each is `failed` in
   * `/v2/features` while no live worker announces it, any other known one `disabled`.
   * @defaultValue registration, reports, templates (what this build's workers provide)
   */
  features: featureList.default(['openscap', 'registration', 'reports', 'templates']),
  capabilities: z
    .strictObject({
      /** Interval of capability heartbeats; an instance missing three is expired. @defaultValue 2000 */
      heartbeatMs: z.coerce.number().int().min(MIN_HEARTBEAT_MS).max(MAX_HEARTBEAT_MS).default(2000),
      /** Quiet period after a feature change before Foreman is refreshed. @defaultValue 1000 */
      refreshDebounceMs: z.coerce.number().int().min(0).max(60_000).default(1000),
    })
    .prefault({}),
  dataDir: z.string().default('./var'),
  openscap: z
    .strictObject({
      /** The smart-proxy's registered_proxy_url, sent to Foreman with every report (null when unset). */
      proxyUrl: z.url().optional(),
      /** The `oscap` tool that renders a stored report as HTML. @defaultValue oscap (from PATH) */
      oscapPath: z.string().min(1).default('oscap'),
      /** SCAP content and tailoring files kept in the ingress's memory. @defaultValue 64 MiB */
      policyFileCacheBytes: z.coerce.number().int().min(0).default(64 * 1024 * 1024),
      /**
       * Largest JSON report the openscap worker builds from one ARF (counted while building); a
       * larger one is dead-lettered. At most 256 MiB: past that one fix text or the serialized
       * report could pass V8's longest string. @defaultValue 64 MiB
       */
      maxReportBytes: positiveInt.max(256 * 1024 * 1024).default(64 * 1024 * 1024),
      /** SCAP content and tailoring files the openscap worker keeps on disk (data dir), least recently used out first. @defaultValue 512 MiB */
      policyFileDiskCacheBytes: z.coerce.number().int().min(0).default(512 * 1024 * 1024),
    })
    .prefault({}),
  /** REX private key; its public half (`<key>.pub`) is served at /ssh/pubkey. @defaultValue <data dir>/ssh/id_proxyhub, made on first start */
  sshKey: z.string().optional(),
  rex: z
    .strictObject({
      /** The smart-proxy's `:mode:`: run scripts over SSH, or let hosts pull them (MQTT notification). @defaultValue ssh */
      mode: z.enum(['ssh', 'pull-mqtt']).default('ssh'),
      /** Jobs one rex worker process runs at once. @defaultValue 50 */
      concurrency: positiveInt.default(50),
      /** Jobs all rex workers together run at once (BullMQ global concurrency). @defaultValue 200 */
      globalConcurrency: positiveInt.default(200),
      /** A running job whose worker stops renewing its lock this long is reported as died. @defaultValue 30000 */
      lockMs: z.coerce.number().int().min(1000).default(30_000),
      /** How long finished jobs stay readable through the task API. @defaultValue 86400 (1 day) */
      keepFinishedSeconds: positiveInt.default(86_400),
      /** Longest wait between two attempts to send a callback to Foreman. @defaultValue 60000 */
      callbackBackoffMaxMs: milliseconds.default(60_000),
      /** SSH connect timeout. @defaultValue 15000 */
      connectTimeoutMs: milliseconds.default(15_000),
      /** The SSH user-CA public key served at /ssh/ca_pubkey (empty when unset). */
      sshCaPublicKey: z.string().optional(),
      /** URL hosts fetch pull jobs from (the ingress); default: the launch's `proxy_url`. */
      pullUrl: z.url().optional(),
      /** The smart-proxy's `mqtt_ttl`: dispatcher tick, seconds. @defaultValue 5 */
      mqttTtlSeconds: positiveInt.default(5),
      /** The smart-proxy's `mqtt_rate_limit`: notified-but-unpicked plus running pull jobs at once; 0 is unlimited. @defaultValue 0 */
      mqttRateLimit: z.coerce.number().int().min(0).default(0),
      /** The smart-proxy's `mqtt_resend_interval`, seconds. @defaultValue 900 */
      mqttResendIntervalSeconds: positiveInt.default(900),
      /** Pull jobs not picked up by then finish as EXCEPTION unless the launch sets time_to_pickup. @defaultValue 86400 */
      timeToPickupSeconds: positiveInt.default(86_400),
      /**
       * Output bytes stored per job (what Foreman's callback and the task API carry); past it a
       * truncation notice is stored once and the rest dropped, while the exit status still counts.
       * @defaultValue 4194304 (4 MiB)
       */
      maxOutputBytes: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  publish: z
    .strictObject({
      /** An upload is answered 503 when the broker has not confirmed it by then. @defaultValue 1000 */
      confirmTimeoutMs: milliseconds.default(1000),
      /** Unconfirmed publishes allowed at once per process; more wait, then get 503. @defaultValue 2000 */
      maxUnconfirmed: positiveInt.default(2000),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** @defaultValue 4 MiB */
      factsBodyBytes: positiveInt.default(4 * 1024 * 1024),
      /** @defaultValue 8 MiB */
      reportBodyBytes: positiveInt.default(8 * 1024 * 1024),
      /** Compressed ARF uploads (foreman_scap_client sends bzip2). @defaultValue 64 MiB */
      arfBodyBytes: positiveInt.max(64 * 1024 * 1024).default(64 * 1024 * 1024),
      /** Requests per minute per client identity (certificate CN, else address); 0 turns it off. @defaultValue 600 */
      ratePerMinute: z.coerce.number().int().min(0).default(600),
      /** A client must have sent all its headers by then (slowloris). @defaultValue 10000 */
      headersTimeoutMs: milliseconds.default(10_000),
      /** A whole request, body included, must have arrived by then. @defaultValue 60000 */
      requestTimeoutMs: milliseconds.default(60_000),
      /** Above this event-loop delay new requests get 503 (load shedding); 0 turns it off. @defaultValue 1000 */
      maxEventLoopDelayMs: z.coerce.number().int().min(0).default(1000),
      /** Above this event-loop utilisation (0–1) new requests get 503; 0 turns it off. @defaultValue 0.98 */
      maxEventLoopUtilization: z.coerce.number().min(0).max(1).default(0.98),
      /** Bytes of registration, template and REX update requests one ingress holds while workers answer; more get 503. @defaultValue 64 MiB */
      rpcInflightBytes: positiveInt.default(64 * 1024 * 1024),
      /** Capability event streams (`GET /capabilities/events`) one control process serves at once; more get 503. @defaultValue 32 */
      maxEventStreams: positiveInt.default(32),
    })
    .prefault({}),
  worker: z
    .strictObject({
      /** Unacknowledged deliveries per consumer. @defaultValue 32 */
      prefetch: positiveInt.default(32),
      /** Delay tiers for transient failures: attempt n waits the n-th (the last one repeats). */
      retryDelaysMs: delayList.default([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 120_000, 300_000]),
      /** After this long since acceptance a failing event is dead-lettered. @defaultValue 24 h */
      retryDeadlineMs: milliseconds.default(24 * 3600 * 1000),
      /** Longest pause of all deliveries to Foreman after it failed. @defaultValue 30000 */
      upstreamPauseMaxMs: milliseconds.default(30_000),
      /** How long a delivered event id is remembered to ignore redeliveries. @defaultValue 7 days */
      dedupTtlSeconds: positiveInt.default(7 * 24 * 3600),
      /** Grace period for in-flight work at shutdown. @defaultValue 10000 */
      shutdownGraceMs: milliseconds.default(10_000),
    })
    .prefault({}),
}).superRefine((config, context) => {
  // Said once, at parse time: an amqp10:// URL cannot be spoken over 0-9-1.
  if (config.transport === 'amqp091' && /^amqp10s?:\/\//.test(config.amqpUrl)) {
    context.addIssue({ code: 'custom', path: ['transport'], message: 'amqp091 cannot use an amqp10:// URL; use amqp:// or set the transport to amqp10' });
  }
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = Readonly<z.output<typeof configSchema>>;
