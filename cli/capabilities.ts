/**
 * `proxyhub capabilities [--watch] [--json]`: the live capability table, read straight from the
 * capabilities stream with the control role's own registry (no control process needed), then,
 * with `--watch`, one line per change until interrupted.
 */
import { hostname } from 'node:os';
import { isSmartProxyFeature } from '../contracts/capabilities.ts';
import type { CapabilityChange } from '../contracts/events/capability.ts';
import type { CapabilitySnapshot } from '../contracts/http/capabilities.ts';
import { createTopology, queueFeatures } from '../contracts/topology.ts';
import { AmqpPublisher } from '../hub/bus/amqp091/publisher.ts';
import { createLogger } from '../hub/log/logger.ts';
import { loadConfig } from '../hub/config/load.ts';
import { createCapabilityService, type CapabilityService } from '../hub/control/capability-service.ts';
import type { Config } from '../hub/config/schema.ts';
import { capabilityStreamFactory } from './start.ts';
import { withDeadline } from './deadline.ts';
import { formatTable } from './table.ts';


const compact = (value: unknown): string => (value === undefined || JSON.stringify(value) === '{}' || JSON.stringify(value) === '[]' ? '-' : JSON.stringify(value));

export function formatCapabilities(snapshot: CapabilitySnapshot): string {
  const features = Object.entries(snapshot.features).sort(([a], [b]) => a.localeCompare(b));
  const featureRows = features.map(([name, view]) => [name, view?.state ?? '', isSmartProxyFeature(name) ? 'yes' : 'no', String(view?.instances.length ?? 0), compact(view?.capabilities), compact(view?.settings)]);
  const instanceRows = snapshot.instances.map((i) => [i.instanceId, i.roles.join(','), i.version, i.hostname, Object.values(i.urls).join(' ') || '-', i.lastSeen]);
  return [
    features.length === 0 ? 'no live features' : formatTable(['FEATURE', 'STATE', 'FOREMAN', 'INSTANCES', 'CAPABILITIES', 'SETTINGS'], featureRows),
    '',
    snapshot.instances.length === 0 ? 'no live instances' : formatTable(['INSTANCE', 'ROLES', 'VERSION', 'HOST', 'LISTENS', 'LAST SEEN'], instanceRows),
  ].join('\n');
}

export function formatChange(change: CapabilityChange, at: Date): string {
  const now = change.current;
  const detail = now === null ? 'no live instance' : `${now.state}, ${now.instances.length} instance(s), settings ${compact(now.settings)}, capabilities ${compact(now.capabilities)}`;
  return `${at.toISOString()}  ${change.feature}  ${change.change} (${change.cause})  ${detail}`;
}

/** The control role's registry, fed from the capabilities stream; `close` releases the stream and the publisher. */
export async function openCapabilityReader(config: Config, purpose: string, deadlineMs?: number): Promise<{ readonly service: CapabilityService; readonly close: () => Promise<void> }> {
  const topology = createTopology(config.prefix);
  const logger = createLogger('warn');
  const scope = { features: queueFeatures };
  const name = `proxyhub ${purpose} cli ${hostname()}-${process.pid}`;
  const publisher = new AmqpPublisher({ url: config.amqpUrl, name, topology, scope, logger, ...config.publish });
  const service = createCapabilityService({ openStream: capabilityStreamFactory(config, scope, logger, name), publisher, exchange: topology.capabilitiesExchange, readerId: `cli-${hostname()}-${process.pid}`, logger, publishChanges: false });
  const close = async (): Promise<void> => {
    await service.close();
    await publisher.close();
  };
  const starting = (async () => {
    await publisher.start();
    await service.start();
  })();
  try {
    await (deadlineMs === undefined ? starting : withDeadline('the broker', deadlineMs, starting));
  } catch (error) {
    await close();
    throw error;
  }
  return { service, close };
}

export async function runCapabilities(options: { watch: boolean; json: boolean }): Promise<number> {
  const { service, close } = await openCapabilityReader(loadConfig(), 'capabilities');
  try {
    const snapshot = service.snapshot();
    process.stdout.write(`${options.json ? JSON.stringify(snapshot, null, 2) : formatCapabilities(snapshot)}\n`);
    if (!options.watch) return 0;
    process.stdout.write(options.json ? '' : '\nwatching for changes (Ctrl-C ends)\n');
    service.subscribe((record) => process.stdout.write(`${options.json ? JSON.stringify(record.change) : formatChange(record.change, new Date())}\n`));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } finally {
    await close();
  }
}
