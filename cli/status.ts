/**
 * `proxyhub status`: the hub on one screen, read from where the state lives (no control process
 * needed): the live instances with their roles and listeners and the features they provide (the
 * capability stream), whether the broker and Redis answer, each feature's work-queue and
 * dead-letter depth, and the REX jobs. Every probe has a deadline, so a dependency that is down
 * costs seconds and is reported, instead of hanging the command.
 */
import { createTopology } from '../contracts/topology.ts';
import type { CapabilitySnapshot } from '../contracts/http/capabilities.ts';
import { errorMessage, ProxyhubError } from '../contracts/errors.ts';
import { createBusTransport } from '../hub/bus/transport-factory.ts';
import { loadConfig } from '../hub/config/load.ts';
import type { Config } from '../hub/config/schema.ts';
import { attentionOf, readQueueDepths, readRexJobCounts, type Probe, type QueueDepth, type RexJobCounts } from '../hub/control/hub-status.ts';
import { redactUrl } from '../hub/log/logger.ts';
import { openCapabilityReader } from './capabilities.ts';
import { withDeadline } from './deadline.ts';
import { exitCodes } from './exit-codes.ts';
import { createRexStore } from './jobs.ts';
import { formatTable } from './table.ts';
import { describeRedis, redisTargetOf } from '../hub/jobs/redis-target.ts';

export type { Probe, QueueDepth } from '../hub/control/hub-status.ts';

/** Longest any one probe may take. @defaultValue 5 s: a broker or Redis slower than that is reported as not answering. */
const PROBE_DEADLINE_MS = 5000;

export interface HubStatus {
  readonly at: string;
  readonly prefix: string;
  readonly broker: Probe;
  readonly redis: Probe;
  readonly capabilities: CapabilitySnapshot | null;
  readonly queues: readonly QueueDepth[];
  readonly rexJobs: RexJobCounts | null;
  /** What needs attention, in words; empty when all is well. */
  readonly attention: readonly string[];
}

async function queueDepths(config: Config): Promise<QueueDepth[]> {
  const bus = await createBusTransport({ url: config.amqpUrl, transport: config.transport, addressScheme: config.amqp10.addressScheme });
  return readQueueDepths(() => bus.openQueueBrowser(), createTopology(config.prefix), (work) => withDeadline('the broker', PROBE_DEADLINE_MS, work));
}

async function capabilitySnapshot(config: Config): Promise<CapabilitySnapshot> {
  const reader = await openCapabilityReader(config, 'status', PROBE_DEADLINE_MS);
  try {
    return reader.service.snapshot();
  } finally {
    await reader.close();
  }
}

export async function collectStatus(config: Config): Promise<HubStatus> {
  const failed = (url: string, error: unknown): Probe => ({ url, ok: false, error: errorMessage(error) });
  const brokerUrl = redactUrl(config.amqpUrl);
  const redisUrl = describeRedis(redisTargetOf(config));
  let broker: Probe = { url: brokerUrl, ok: true };
  let queues: QueueDepth[] = [];
  let capabilities: CapabilitySnapshot | null = null;
  try {
    queues = await queueDepths(config);
    capabilities = await capabilitySnapshot(config);
  } catch (error) {
    broker = failed(brokerUrl, error);
  }
  let redis: Probe = { url: redisUrl, ok: true };
  let rexJobs: HubStatus['rexJobs'] = null;
  const store = createRexStore(config);
  const counting = (async () => {
    await store.start();
    return readRexJobCounts(store);
  })();
  try {
    // A Redis that does not answer keeps its client reconnecting: closing it lets the command end.
    rexJobs = await withDeadline('Redis', PROBE_DEADLINE_MS, counting, () => store.close());
  } catch (error) {
    redis = failed(redisUrl, error instanceof ProxyhubError && error.cause !== undefined ? error.cause : error);
  } finally {
    await store.close().catch(() => undefined);
  }
  const status = { at: new Date().toISOString(), prefix: config.prefix, broker, redis, capabilities, queues, rexJobs };
  return { ...status, attention: attentionOf(config.features, status) };
}

/* The text screen: the state first, the things to look at last. */

const probeLine = (name: string, probe: HubStatus['broker']): string => `${name.padEnd(7)}${probe.ok ? 'ok  ' : 'DOWN'}  ${probe.url}${probe.ok ? '' : `  (${probe.error ?? ''})`}`;
const depth = (value: number | null): string => (value === null ? 'not declared' : String(value));

function ago(at: string, now: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(now) - Date.parse(at)) / 1000));
  return `${seconds} s ago`;
}

export function formatStatus(status: HubStatus): string {
  const lines = [`proxyhub status of prefix "${status.prefix}" at ${status.at}`, '', probeLine('broker', status.broker), probeLine('redis', status.redis), ''];
  const capabilities = status.capabilities;
  if (capabilities === null) lines.push('instances and features: unknown (the capability stream could not be read)');
  else {
    const instances = capabilities.instances.map((i) => [i.instanceId, i.roles.join(','), i.version, i.hostname, Object.entries(i.urls).map(([listener, url]) => `${listener} ${url}`).join(', ') || '-', ago(i.lastSeen, status.at)]);
    lines.push(instances.length === 0 ? 'no live instances' : formatTable(['INSTANCE', 'ROLES', 'VERSION', 'HOST', 'LISTENERS', 'LAST SEEN'], instances), '');
    const features = Object.entries(capabilities.features).sort(([a], [b]) => a.localeCompare(b));
    lines.push(features.length === 0 ? 'no live features' : formatTable(['FEATURE', 'STATE', 'INSTANCES'], features.map(([name, view]) => [name, view?.state ?? '', String(view?.instances.length ?? 0)])));
  }
  lines.push('');
  if (status.broker.ok) lines.push(formatTable(['QUEUE', 'WAITING', 'DEAD LETTERS'], status.queues.map((q) => [q.feature, depth(q.work), depth(q.deadLetters)])));
  lines.push(status.rexJobs === null ? 'rex jobs: unknown (Redis does not answer)' : `rex jobs: ${status.rexJobs.running} running or queued, ${status.rexJobs.stopped} ended and kept`);
  lines.push('', status.attention.length === 0 ? 'all well' : `needs attention:\n${status.attention.map((note) => `  - ${note}`).join('\n')}`);
  return lines.join('\n');
}

export async function runStatus(options: { json: boolean }): Promise<number> {
  const status = await collectStatus(loadConfig());
  process.stdout.write(`${options.json ? JSON.stringify(status, null, 2) : formatStatus(status)}\n`);
  return status.attention.length === 0 ? exitCodes.ok.code : exitCodes.degraded.code;
}
