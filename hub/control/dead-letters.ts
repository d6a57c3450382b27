/**
 * Dead letters, for operators: list, show and replay, shared by `proxyhub dlq` and the control
 * API. Browsing takes messages without acking them, so whatever is not replayed returns to the
 * dead-letter queue when the browser closes, also when a replay is interrupted.
 */
import { deliveryHeaders } from '../../contracts/delivery-headers.ts';
import { ProxyhubError } from '../../contracts/errors.ts';
import { queueFeatures, type QueueFeature, type Topology } from '../../contracts/topology.ts';
import type { QueueBrowser } from '../bus/transport.ts';
import type { BrowsedMessage } from '../bus/transport.ts';
import { matchesFilter, type DeadLetterFilter } from './dead-letter-filter.ts';

export interface DeadLetterSummary {
  readonly id: string;
  readonly type: string;
  readonly feature: QueueFeature;
  readonly code: string;
  readonly reason: string;
  readonly attempts: number;
  readonly failedAt: string;
  readonly upstreamStatus?: number;
}

export interface DeadLetterQuery extends DeadLetterFilter {
  readonly feature?: string | undefined;
  readonly limit?: number | undefined;
}

export interface ReplayRequest extends DeadLetterQuery {
  readonly ids?: readonly string[] | undefined;
  readonly all?: boolean | undefined;
}

export interface ReplayProgress {
  start(feature: QueueFeature, total: number): void;
  step(replayed: number): void;
  end(): void;
}

export function summarize(feature: QueueFeature, message: BrowsedMessage): DeadLetterSummary {
  const { headers } = message.delivery;
  const brokerReason = headers['x-first-death-reason'];
  const byBrokerLimit = brokerReason === 'delivery_limit';
  const status = headers[deliveryHeaders.upstreamStatus];
  return {
    id: message.delivery.messageId ?? '(none)',
    type: message.delivery.type ?? '(none)',
    feature,
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- our own headers, written as strings
    code: String(headers[deliveryHeaders.errorCode] ?? (byBrokerLimit ? 'PROXYHUB_DELIVERY_LIMIT' : `broker:${String(brokerReason)}`)),
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- our own headers, written as strings
    reason: String(headers[deliveryHeaders.reason] ?? (byBrokerLimit ? 'redelivered past the quorum delivery limit (a worker kept failing before settling it)' : '')),
    attempts: Number(headers[deliveryHeaders.attempt] ?? headers['x-delivery-count'] ?? 1),
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- our own headers, written as strings
    failedAt: String(headers[deliveryHeaders.failedAt] ?? ''),
    ...(typeof status === 'number' ? { upstreamStatus: status } : {}),
  };
}

export function selectFeatures(feature: string | undefined): QueueFeature[] {
  if (feature === undefined) return [...queueFeatures];
  if (!(queueFeatures as readonly string[]).includes(feature)) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', `unknown feature ${feature} (known: ${queueFeatures.join(', ')})`, { field: 'feature' });
  return [feature as QueueFeature];
}

async function* browse(browser: QueueBrowser, topology: Topology, features: readonly QueueFeature[]): AsyncGenerator<[QueueFeature, BrowsedMessage]> {
  for (const feature of features) {
    for (let message = await browser.take(topology.deadLetterQueue(feature)); message; message = await browser.take(topology.deadLetterQueue(feature))) {
      yield [feature, message];
    }
  }
}

/** An ARF upload's bytes (up to 85 MB of base64) say nothing to a person reading a dead letter. */
function abbreviated(event: unknown): unknown {
  const data = (event as { data?: { arf?: unknown } } | null)?.data;
  if (typeof data?.arf !== 'string') return event;
  const padding = data.arf.endsWith('==') ? 2 : data.arf.endsWith('=') ? 1 : 0;
  const bytes = Math.floor((data.arf.length * 3) / 4) - padding;
  return { ...(event as object), data: { ...data, arf: `<${bytes} bytes of bzip2, base64; replay sends them unchanged>` } };
}

export interface DeadLetterService {
  list(query: DeadLetterQuery): Promise<DeadLetterSummary[]>;
  show(id: string, query: DeadLetterQuery): Promise<(DeadLetterSummary & { headers: unknown; event: unknown }) | undefined>;
  replay(request: ReplayRequest, progress?: ReplayProgress): Promise<{ replayed: number; kept: number }>;
  /** Dead letters waiting in one feature's queue. */
  count(feature: QueueFeature): Promise<number>;
}

/** `openBrowser` comes from the bus transport: dead letters are read with the protocol that wrote them. */
export function createDeadLetterService(openBrowser: () => Promise<QueueBrowser>, topology: Topology): DeadLetterService {
  async function withBrowser<T>(fn: (browser: QueueBrowser) => Promise<T>): Promise<T> {
    const browser = await openBrowser();
    try {
      return await fn(browser);
    } finally {
      await browser.close();
    }
  }
  return {
    list: (query) =>
      withBrowser(async (browser) => {
        const rows: DeadLetterSummary[] = [];
        for await (const [feature, message] of browse(browser, topology, selectFeatures(query.feature))) {
          const row = summarize(feature, message);
          if (!matchesFilter(row, query)) continue;
          rows.push(row);
          if (query.limit !== undefined && rows.length >= query.limit) break;
        }
        return rows;
      }),
    show: (id, query) =>
      withBrowser(async (browser) => {
        for await (const [feature, message] of browse(browser, topology, selectFeatures(query.feature))) {
          if (message.delivery.messageId !== id) continue;
          const text = message.delivery.body.toString('utf8');
          let event: unknown = text;
          try {
            event = JSON.parse(text);
          } catch {
            /* shown as text: it is dead-lettered precisely because it does not parse */
          }
          return { ...summarize(feature, message), headers: message.delivery.headers, event: abbreviated(event) };
        }
        return undefined;
      }),
    replay: (request, progress) => replay(withBrowser, topology, request, progress),
    count: (feature) => withBrowser((browser) => browser.messageCount(topology.deadLetterQueue(feature))),
  };
}

async function replay(
  withBrowser: <T>(fn: (browser: QueueBrowser) => Promise<T>) => Promise<T>,
  topology: Topology,
  request: ReplayRequest,
  progress?: ReplayProgress,
): Promise<{ replayed: number; kept: number }> {
  if (!request.all && (request.ids === undefined || request.ids.length === 0)) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', 'name the events to replay (ids) or ask for all', { field: 'ids' });
  const wanted = new Set(request.ids ?? []);
  return withBrowser(async (browser) => {
    let replayed = 0;
    let kept = 0;
    for (const feature of selectFeatures(request.feature)) {
      const queue = topology.deadLetterQueue(feature);
      const total = await browser.messageCount(queue);
      if (total === 0) continue;
      progress?.start(feature, total);
      // At most what was there at the start: with workers running, an event Foreman still
      // refuses is dead-lettered again at once and must not be replayed round and round.
      for (let seen = 0; seen < total; seen += 1) {
        const message = await browser.take(queue);
        if (!message) break;
        const { delivery } = message;
        if ((request.all || wanted.has(delivery.messageId ?? '')) && matchesFilter(summarize(feature, message), request)) {
          const headers = { [deliveryHeaders.routingKey]: delivery.headers[deliveryHeaders.routingKey], [deliveryHeaders.replayedAt]: new Date().toISOString() };
          await browser.publish({ exchange: '', routingKey: topology.workQueue(feature), body: delivery.body, messageId: delivery.messageId ?? '', type: delivery.type ?? '', contentType: message.properties.contentType ?? 'application/cloudevents+json', headers });
          delivery.ack();
          replayed += 1;
        } else kept += 1;
        progress?.step(replayed);
      }
      progress?.end();
    }
    return { replayed, kept };
  });
}
