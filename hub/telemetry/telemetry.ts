/**
 * What a process reports with, made once by the composition root and handed to each part:
 * its metrics registry, its trace context and its readiness checks.
 */
import { createHealth, type Health } from './health.ts';
import { createHubMetrics, type HubMetrics } from './metrics.ts';
import { createTracing, type Tracing } from './trace-context.ts';

export interface Telemetry {
  readonly metrics: HubMetrics;
  readonly tracing: Tracing;
  readonly health: Health;
}

export function createTelemetry(options: { readonly processMetrics?: boolean } = {}): Telemetry {
  return { metrics: createHubMetrics(options), tracing: createTracing(), health: createHealth() };
}
