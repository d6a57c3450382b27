/**
 * A worker process's own count of the deliveries it settled (`proxyhub_deliveries_total` on its
 * metrics port), for the fault tests that count redeliveries: exact, where the workers' outcome
 * events are published without a confirm and can be lost when a node goes. The counts start at
 * 0 with each process.
 */
import { metricsPortOf, parseRoles } from '../../hub/config/roles.ts';
import type { Config } from '../../hub/config/schema.ts';
import { sample, scrape } from './prometheus-text.ts';

export type DeliveryOutcomeLabel = 'delivered' | 'duplicate' | 'retried' | 'dead_lettered';

/**
 * The count for one outcome of a process started with `--role worker:<feature>` and `config`,
 * whose `observability.metricsPort` must be a fixed port (0 gives any free one, not known here).
 */
export async function workerDeliveries(config: Config, feature: string, outcome: DeliveryOutcomeLabel): Promise<number> {
  const port = metricsPortOf(parseRoles(`worker:${feature}`), config.observability.metricsPort);
  if (port === 0) throw new Error('workerDeliveries needs a fixed metrics port in the config');
  return sample(await scrape(`http://127.0.0.1:${port}/metrics`), 'proxyhub_deliveries_total', { feature, outcome });
}
