/**
 * `proxyhub dlq list|show|replay`: the dead-letter service (hub/control/dead-letters.ts) with
 * a table, JSON output and a progress bar.
 */
import { createTopology } from '../contracts/topology.ts';
import { createDeadLetterService, type DeadLetterService, type DeadLetterSummary } from '../hub/control/dead-letters.ts';
import { loadConfig } from '../hub/config/load.ts';
import { createBusTransport } from '../hub/bus/transport-factory.ts';
import { createProgress } from './progress.ts';

export function deadLetterService(): DeadLetterService {
  const config = loadConfig();
  const bus = createBusTransport({ url: config.amqpUrl, transport: config.transport, addressScheme: config.amqp10.addressScheme });
  return createDeadLetterService(async () => (await bus).openQueueBrowser(), createTopology(config.prefix));
}

/** A progress bar per feature queue on stderr. */
export function replayProgressBar(): Parameters<DeadLetterService['replay']>[1] {
  let bar: ReturnType<typeof createProgress> | undefined;
  return {
    start: (feature, total) => (bar = createProgress(`replay ${feature}`, total)),
    step: (replayed) => bar?.tick(`${replayed} replayed`),
    end: () => bar?.done(),
  };
}

export function formatTable(rows: readonly DeadLetterSummary[]): string {
  if (rows.length === 0) return 'no dead letters';
  const header = ['ID', 'FEATURE', 'TYPE', 'CODE', 'STATUS', 'ATTEMPTS', 'FAILED AT', 'REASON'];
  const body = rows.map((r) => [r.id, r.feature, r.type, r.code, r.upstreamStatus === undefined ? '-' : String(r.upstreamStatus), String(r.attempts), r.failedAt, r.reason.replace(/\s+/g, ' ').slice(0, 80)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  return [header, ...body].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
