/**
 * `proxyhub status`: the hub on one screen, read from where the state lives (no control process
 * needed): the live instances with their roles and listeners and the features they provide (the
 * capability stream), whether the broker and Redis answer, each feature's work-queue and
 * dead-letter depth, and the REX jobs. Every probe has a deadline, so a dependency that is down
 * costs seconds and is reported, instead of hanging the command.
 */
import { createTopology, queueFeatures, type QueueFeature } from '../contracts/topology.ts';
import type { CapabilitySnapshot } from '../contracts/http/capabilities.ts';
import { errorMessage, ProxyhubError } from '../contracts/errors.ts';
import { createBusTransport } from '../hub/bus/transport-factory.ts';
import type { QueueBrowser } from '../hub/bus/transport.ts';
import { loadConfig } from '../hub/config/load.ts';
import type { Config } from '../hub/config/schema.ts';
import { redactUrl } from '../hub/log/logger.ts';
import { openCapabilityReader } from './capabilities.ts';
import { withDeadline } from './deadline.ts';
import { exitCodes } from './exit-codes.ts';
import { createRexStore } from './jobs.ts';
import { formatTable } from './table.ts';

/** Longest any one probe may take. @defaultValue 5 s: a broker or Redis slower than that is reported as not answering. */
const PROBE_DEADLINE_MS = 5000;

export interface Probe {
  readonly url: string;
  readonly ok: boolean;
  readonly error?: string;
}

export interface QueueDepth {
  readonly feature: QueueFeature;
  /** null: the queue is not declared (no process of the feature has started yet). */
  readonly work: number | null;
  readonly deadLetters: number | null;
}

export interface HubStatus {
  readonly at: string;
  readonly prefix: string;
  readonly broker: Probe;
  readonly redis: Probe;
  readonly capabilities: CapabilitySnapshot | null;
  readonly queues: readonly QueueDepth[];
  readonly rexJobs: { readonly running: number; readonly stopped: number } | null;
  /** What needs attention, in words; empty when all is well. */
  readonly attention: readonly string[];
}

async function queueDepths(config: Config): Promise<QueueDepth[]> {
  const topology = createTopology(config.prefix);
  const bus = await createBusTransport({ url: config.amqpUrl, transport: config.transport, addressScheme: config.amqp10.addressScheme });
  const depths: QueueDepth[] = [];
  for (const feature of queueFeatures) {
    // One browser per feature: on AMQP 0-9-1 asking for a queue that does not exist closes the channel.
    const browser: QueueBrowser = await withDeadline('the broker', PROBE_DEADLINE_MS, bus.openQueueBrowser());
    try {
      const count = (queue: string): Promise<number | null> => withDeadline('the broker', PROBE_DEADLINE_MS, browser.messageCount(queue)).catch((error: unknown) => {
        if (/does not exist|NOT_FOUND|not[ _]found/i.test(errorMessage(error))) return null;
        throw error;
      });
      const work = await count(topology.workQueue(feature));
      depths.push({ feature, work, deadLetters: work === null ? null : await count(topology.deadLetterQueue(feature)) });
    } finally {
      await browser.close().catch(() => undefined);
    }
  }
  return depths;
}

async function capabilitySnapshot(config: Config): Promise<CapabilitySnapshot> {
  const reader = await openCapabilityReader(config, 'status', PROBE_DEADLINE_MS);
  try {
    return reader.service.snapshot();
  } finally {
    await reader.close();
  }
}

function attentionOf(config: Config, status: Omit<HubStatus, 'attention'>): string[] {
  const notes: string[] = [];
  if (!status.broker.ok) notes.push(`the broker does not answer: ${status.broker.error ?? ''}`);
  if (!status.redis.ok) notes.push(`Redis does not answer: ${status.redis.error ?? ''}`);
  if (status.capabilities !== null) {
    if (status.capabilities.instances.length === 0) notes.push('no live proxyhub process announces itself on this prefix');
    for (const feature of config.features) {
      const view = status.capabilities.features[feature];
      if (view?.state !== 'running') notes.push(`expected feature ${feature} (PROXYHUB_FEATURES) is ${view === undefined ? 'provided by no live process' : view.state}`);
    }
  }
  for (const depth of status.queues) {
    if ((depth.deadLetters ?? 0) > 0) notes.push(`${depth.deadLetters ?? 0} dead letter(s) in ${depth.feature}: proxyhub dlq list --feature ${depth.feature}`);
  }
  return notes;
}

export async function collectStatus(config: Config): Promise<HubStatus> {
  const failed = (url: string, error: unknown): Probe => ({ url, ok: false, error: errorMessage(error) });
  const brokerUrl = redactUrl(config.amqpUrl);
  const redisUrl = redactUrl(config.redisUrl);
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
    return { running: await store.count('running'), stopped: await store.count('stopped') };
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
  return { ...status, attention: attentionOf(config, status) };
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
