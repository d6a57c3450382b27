/**
 * Every metric a proxyhub process exposes, declared in one place with its labels, on a registry
 * of its own per hub (tests run several hubs in one process; the global registry would mix them).
 * Labels are bounded sets only: route templates, never raw URLs; error codes from the catalog;
 * feature names; delay tiers from the configuration.
 *
 * The hot path (an upload at the ingress) touches two of them per request, through children
 * bound once per route and status (hub/http/observability.ts), so a request costs a counter
 * increment and a histogram observation, nothing more.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { clusterMetricsRenderer } from './cluster-metrics.ts';

/** Seconds; an upload is answered after the broker's confirm, so most fall in the first buckets. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds from acceptance to Foreman's 2xx: milliseconds when all is well, hours through an outage. */
const DELIVERY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600, 86_400];

/** A text exposition of someone else's metrics (BullMQ's own), appended to ours at scrape time. */
export type ExtraExposition = () => Promise<string>;

export interface QueueDepth {
  readonly feature: string;
  readonly queue: 'work' | 'dead_letter';
  readonly messages: number;
}

/** Read at scrape time; a failure leaves the series out (absent, which alerts can see) rather than stale. */
export type QueueDepthSource = () => Promise<readonly QueueDepth[]>;

export interface HubMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'listener' | 'method' | 'route' | 'status'>;
  /** For the upload routes this is the accept latency: request in to 202 (after the broker's confirm). */
  readonly httpDuration: Histogram<'listener' | 'method' | 'route'>;
  /** 503 answers by catalog code: PROXYHUB_OVERLOADED, PROXYHUB_BUS_*, PROXYHUB_RPC_NO_WORKER… */
  readonly httpUnavailable: Counter<'listener' | 'cause'>;
  /** Publishes by broker outcome: confirmed, nacked, returned (unroutable), timeout, unavailable, blocked. */
  readonly publishes: Counter<'outcome'>;
  readonly deliveries: Counter<'feature' | 'outcome'>;
  /** Acceptance at the ingress to Foreman's 2xx, retries and pauses included. */
  readonly deliveryLatency: Histogram<'feature'>;
  readonly retries: Counter<'feature' | 'tier'>;
  /** 1 while deliveries of a feature to Foreman are paused after a failure. */
  readonly upstreamPaused: Gauge<'upstream' | 'feature'>;
  readonly capabilityChanges: Counter<'feature' | 'change' | 'cause'>;
  readonly queueDepth: Gauge<'feature' | 'queue'>;
  readonly info: Gauge<'version' | 'roles' | 'transport'>;
  /** Where `proxyhub_queue_depth` comes from (the control role reads the broker). */
  setQueueDepthSource(source: QueueDepthSource): void;
  /** Adds a source of text exposition (appended after ours, its metric names its own). */
  addExposition(source: ExtraExposition): void;
  /** The whole exposition, in Prometheus text format. */
  render(): Promise<string>;
  readonly contentType: string;
}

export function createHubMetrics(options: { readonly processMetrics?: boolean } = {}): HubMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Node's own (CPU, memory, event-loop lag, GC): one set per process, so only the hub that owns
  // the process collects them (the tests' in-process hubs do not).
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const extras: ExtraExposition[] = [];
  const clustered = options.processMetrics === false ? undefined : clusterMetricsRenderer(registry);
  let depthSource: QueueDepthSource | undefined;
  const queueDepth = new Gauge({
    name: 'proxyhub_queue_depth',
    help: 'Messages waiting per feature in its work queue and its dead-letter queue (read by the control role at scrape time)',
    labelNames: ['feature', 'queue'] as const,
    registers,
    // Several processes of one role report the same queue: summed, they would count it twice.
    aggregator: 'max',
    async collect() {
      if (depthSource === undefined) return;
      const depths = await depthSource().catch(() => []);
      this.reset();
      for (const depth of depths) this.set({ feature: depth.feature, queue: depth.queue }, depth.messages);
    },
  });
  return {
    registry,
    httpRequests: new Counter({ name: 'proxyhub_http_requests_total', help: 'HTTP requests answered, by listener, route template and status', labelNames: ['listener', 'method', 'route', 'status'], registers }),
    httpDuration: new Histogram({ name: 'proxyhub_http_request_duration_seconds', help: 'Time from request to answer by route template; for uploads the accept latency (answered after the broker confirmed)', labelNames: ['listener', 'method', 'route'], buckets: REQUEST_BUCKETS, registers }),
    httpUnavailable: new Counter({ name: 'proxyhub_http_unavailable_total', help: '503 answers by cause (error catalog code)', labelNames: ['listener', 'cause'], registers }),
    publishes: new Counter({ name: 'proxyhub_bus_publishes_total', help: 'Publishes by broker outcome: confirmed, nacked, returned, timeout, unavailable, blocked', labelNames: ['outcome'], registers }),
    deliveries: new Counter({ name: 'proxyhub_deliveries_total', help: 'Events settled by feature workers: delivered, duplicate, retried, dead_lettered', labelNames: ['feature', 'outcome'], registers }),
    deliveryLatency: new Histogram({ name: 'proxyhub_delivery_latency_seconds', help: "Acceptance at the ingress to Foreman's 2xx, retries included", labelNames: ['feature'], buckets: DELIVERY_BUCKETS, registers }),
    retries: new Counter({ name: 'proxyhub_delivery_retries_total', help: 'Deliveries sent to a retry tier, by tier (its delay in ms)', labelNames: ['feature', 'tier'], registers }),
    upstreamPaused: new Gauge({ name: 'proxyhub_upstream_paused', help: '1 while deliveries to the upstream are paused after it failed', labelNames: ['upstream', 'feature'], registers, aggregator: 'max' }),
    capabilityChanges: new Counter({ name: 'proxyhub_capability_changes_total', help: 'Capability changes the control role saw, by feature, change (up, down, updated) and cause', labelNames: ['feature', 'change', 'cause'], registers }),
    queueDepth,
    info: new Gauge({ name: 'proxyhub_info', help: 'Always 1; the labels say what this process is', labelNames: ['version', 'roles', 'transport'], registers, aggregator: 'max' }),
    setQueueDepthSource: (source) => {
      depthSource = source;
    },
    addExposition: (source) => extras.push(source),
    async render() {
      // An ingress of several processes answers for all of them (cluster-metrics.ts); should
      // the primary not answer, a scrape still gets this process's own figures.
      const own = clustered === undefined ? await registry.metrics() : await clustered().catch(() => registry.metrics());
      const others = await Promise.all(extras.map((source) => source().catch(() => '')));
      return [own, ...others.filter((text) => text.length > 0)].join('\n').replace(/\n*$/, '\n');
    },
    contentType: registry.contentType,
  };
}
