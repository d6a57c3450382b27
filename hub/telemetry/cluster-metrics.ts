/**
 * One `/metrics` for an ingress that runs as several processes on one port
 * (`PROXYHUB_INGRESS_PROCESSES`, cli/ingress-cluster.ts). A scrape reaches whichever process
 * the connection was handed to; that process asks the primary, which gathers every process's
 * registry and answers the sum (prom-client's aggregation: counters and histograms added,
 * gauges as each declares). Without it, each scrape would read one process's counters and the
 * rates a dashboard computes would jump between them.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { sendToPrimary } from '../cluster/peer-messages.ts';

type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>;

/** How long a scrape waits for the other processes; a process that does not answer is left out. */
export const CLUSTER_SCRAPE_TIMEOUT_MS = 2000;

interface AskAggregate { readonly type: 'proxyhub:metrics-aggregate'; readonly id: string }
interface AskPart { readonly type: 'proxyhub:metrics-part'; readonly id: string }
interface Part { readonly type: 'proxyhub:metrics-part-answer'; readonly id: string; readonly metrics: MetricsJson }
interface Aggregate { readonly type: 'proxyhub:metrics-aggregate-answer'; readonly id: string; readonly text: string }

const isMessage = <T extends { type: string }>(type: T['type']) => (message: unknown): message is T => typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
const isAskAggregate = isMessage<AskAggregate>('proxyhub:metrics-aggregate');
const isAskPart = isMessage<AskPart>('proxyhub:metrics-part');
const isPart = isMessage<Part>('proxyhub:metrics-part-answer');
const isAggregate = isMessage<Aggregate>('proxyhub:metrics-aggregate-answer');

/**
 * In a process of an ingress cluster: answers the primary's requests for this registry, and
 * returns the renderer a scrape uses. Outside a cluster it returns undefined (render as usual).
 */
export function clusterMetricsRenderer(registry: Registry): (() => Promise<string>) | undefined {
  if (!cluster.isWorker) return undefined;
  process.on('message', (message: unknown) => {
    if (!isAskPart(message)) return;
    // A registry that fails to collect is left out of this scrape (the primary stops waiting).
    registry.getMetricsAsJSON().then(
      (metrics) => sendToPrimary({ type: 'proxyhub:metrics-part-answer', id: message.id, metrics } satisfies Part),
      () => undefined,
    );
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      if (!process.connected) return reject(new Error('the ingress primary is gone'));
      const id = randomUUID();
      const timer = setTimeout(() => {
        process.removeListener('message', onAnswer);
        reject(new Error(`no aggregate from the ingress primary within ${CLUSTER_SCRAPE_TIMEOUT_MS * 2} ms`));
      }, CLUSTER_SCRAPE_TIMEOUT_MS * 2);
      const onAnswer = (message: unknown): void => {
        if (!isAggregate(message) || message.id !== id) return;
        clearTimeout(timer);
        process.removeListener('message', onAnswer);
        resolve(message.text);
      };
      process.on('message', onAnswer);
      sendToPrimary({ type: 'proxyhub:metrics-aggregate', id } satisfies AskAggregate);
    });
}

/**
 * In the primary: answers a process's request for the aggregate by asking every live process
 * (the asker too) for its registry.
 */
export function serveClusterMetrics(): void {
  cluster.on('message', (asker, message: unknown) => {
    if (!isAskAggregate(message)) return;
    // Should the parts not add up, the asker hears nothing and answers the scrape with its own.
    gather().then(
      (text) => {
        if (asker.isConnected()) asker.send({ type: 'proxyhub:metrics-aggregate-answer', id: message.id, text } satisfies Aggregate);
      },
      () => undefined,
    );
  });
}

async function gather(): Promise<string> {
  const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined && worker.isConnected());
  const id = randomUUID();
  const parts = await new Promise<MetricsJson[]>((resolve) => {
    const received: MetricsJson[] = [];
    const done = (): void => {
      clearTimeout(timer);
      cluster.removeListener('message', onPart);
      resolve(received);
    };
    const onPart = (_worker: unknown, message: unknown): void => {
      if (!isPart(message) || message.id !== id) return;
      received.push(message.metrics);
      if (received.length === workers.length) done();
    };
    const timer = setTimeout(done, CLUSTER_SCRAPE_TIMEOUT_MS);
    cluster.on('message', onPart);
    for (const worker of workers) worker?.send({ type: 'proxyhub:metrics-part', id } satisfies AskPart);
  });
  return AggregatorRegistry.aggregate(parts).metrics();
}
