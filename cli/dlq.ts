/**
 * `proxyhub dlq list|show|replay`: inspect and replay dead letters. Browsing takes messages
 * without acking them, so whatever is not replayed returns to the dead-letter queue on close.
 */
import { queueFeatures, createTopology, type QueueFeature, type Topology } from '../contracts/topology.ts';
import { openQueueBrowser, type QueueBrowser } from '../hub/bus/queue-browser.ts';
import type { BrowsedMessage } from '../hub/bus/transport.ts';
import { loadConfig } from '../hub/config/load.ts';
import { deliveryHeaders } from '../contracts/delivery-headers.ts';
import { createProgress } from './progress.ts';

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

export function summarize(feature: QueueFeature, message: BrowsedMessage): DeadLetterSummary {
  const { headers } = message.delivery;
  const brokerReason = headers['x-first-death-reason'];
  const code = String(headers[deliveryHeaders.errorCode] ?? (brokerReason === 'delivery_limit' ? 'PROXYHUB_DELIVERY_LIMIT' : `broker:${String(brokerReason)}`));
  const status = headers[deliveryHeaders.upstreamStatus];
  return {
    id: message.delivery.messageId ?? '(none)',
    type: message.delivery.type ?? '(none)',
    feature,
    code,
    reason: String(headers[deliveryHeaders.reason] ?? (brokerReason === 'delivery_limit' ? 'redelivered past the quorum delivery limit (a worker kept failing before settling it)' : '')),
    attempts: Number(headers[deliveryHeaders.attempt] ?? headers['x-delivery-count'] ?? 1),
    failedAt: String(headers[deliveryHeaders.failedAt] ?? ''),
    ...(typeof status === 'number' ? { upstreamStatus: status } : {}),
  };
}

interface DlqOptions {
  readonly feature?: string | undefined;
  readonly limit?: number | undefined;
  readonly json?: boolean | undefined;
  readonly ids?: readonly string[] | undefined;
  readonly all?: boolean | undefined;
}

function selectedFeatures(feature: string | undefined): QueueFeature[] {
  if (feature === undefined) return [...queueFeatures];
  if (!(queueFeatures as readonly string[]).includes(feature)) throw new Error(`unknown feature ${feature} (known: ${queueFeatures.join(', ')})`);
  return [feature as QueueFeature];
}

async function withBrowser<T>(fn: (browser: QueueBrowser, topology: Topology) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const browser = await openQueueBrowser(config.amqpUrl);
  try {
    return await fn(browser, createTopology(config.prefix));
  } finally {
    await browser.close();
  }
}

export async function listDeadLetters(options: DlqOptions): Promise<DeadLetterSummary[]> {
  return withBrowser(async (browser, topology) => {
    const summaries: DeadLetterSummary[] = [];
    for (const feature of selectedFeatures(options.feature)) {
      for (let message = await browser.take(topology.deadLetterQueue(feature)); message; message = await browser.take(topology.deadLetterQueue(feature))) {
        summaries.push(summarize(feature, message));
        if (options.limit !== undefined && summaries.length >= options.limit) return summaries;
      }
    }
    return summaries;
  });
}

export async function showDeadLetter(id: string, options: DlqOptions): Promise<Record<string, unknown> | undefined> {
  return withBrowser(async (browser, topology) => {
    for (const feature of selectedFeatures(options.feature)) {
      for (let message = await browser.take(topology.deadLetterQueue(feature)); message; message = await browser.take(topology.deadLetterQueue(feature))) {
        if (message.delivery.messageId !== id) continue;
        const text = message.delivery.body.toString('utf8');
        let event: unknown = text;
        try {
          event = JSON.parse(text);
        } catch {
          /* shown as text: it is dead-lettered precisely because it does not parse */
        }
        return { ...summarize(feature, message), headers: message.delivery.headers, event };
      }
    }
    return undefined;
  });
}

/** Replays the selected dead letters into their work queues with a fresh attempt count. */
export async function replayDeadLetters(options: DlqOptions): Promise<{ replayed: number; kept: number }> {
  if (!options.all && (options.ids === undefined || options.ids.length === 0)) throw new Error('name the events to replay with --id (repeatable) or pass --all');
  const wanted = new Set(options.ids ?? []);
  return withBrowser(async (browser, topology) => {
    let replayed = 0;
    let kept = 0;
    for (const feature of selectedFeatures(options.feature)) {
      const queue = topology.deadLetterQueue(feature);
      const total = await browser.messageCount(queue);
      if (total === 0) continue;
      const progress = createProgress(`replay ${feature}`, total);
      for (let message = await browser.take(queue); message; message = await browser.take(queue)) {
        const { delivery } = message;
        if (options.all || wanted.has(delivery.messageId ?? '')) {
          const headers: Record<string, unknown> = { [deliveryHeaders.routingKey]: delivery.headers[deliveryHeaders.routingKey], [deliveryHeaders.replayedAt]: new Date().toISOString() };
          await browser.publish({ exchange: '', routingKey: topology.workQueue(feature), body: delivery.body, messageId: delivery.messageId ?? '', type: delivery.type ?? '', contentType: message.properties.contentType ?? 'application/cloudevents+json', headers });
          delivery.ack();
          replayed += 1;
        } else kept += 1;
        progress.tick(`${replayed} replayed`);
      }
      progress.done();
    }
    return { replayed, kept };
  });
}

export function formatTable(rows: readonly DeadLetterSummary[]): string {
  if (rows.length === 0) return 'no dead letters';
  const header = ['ID', 'FEATURE', 'TYPE', 'CODE', 'STATUS', 'ATTEMPTS', 'FAILED AT', 'REASON'];
  const body = rows.map((r) => [r.id, r.feature, r.type, r.code, r.upstreamStatus === undefined ? '-' : String(r.upstreamStatus), String(r.attempts), r.failedAt, r.reason.replace(/\s+/g, ' ').slice(0, 80)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  return [header, ...body].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
