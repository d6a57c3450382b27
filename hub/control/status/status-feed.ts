/**
 * The status page's data, kept current while someone watches: depths, recent failures and REX
 * jobs are read every `refreshMs` (only while a page is open, and one read at a time however
 * many pages are), capabilities and instances are pushed the moment the registry changes.
 */
import { errorMessage } from '../../../contracts/errors.ts';
import type { SmartProxyFeature } from '../../../contracts/capabilities.ts';
import type { StatusDocument } from '../../../contracts/http/status-page.ts';
import { queueFeatures, type Topology } from '../../../contracts/topology.ts';
import type { QueueBrowser } from '../../bus/transport.ts';
import type { RexTaskStore } from '../../jobs/rex-job-store.ts';
import type { Logger } from '../../log/logger.ts';
import type { CapabilityService } from '../capability-service.ts';
import type { DeadLetterService } from '../dead-letters.ts';
import { attentionOf, readQueueDepths, readRexJobCounts, type Bound, type QueueDepth } from '../hub-status.ts';
import { createDepthTrend } from './depth-trend.ts';
import { jobInFlight } from './job-in-flight.ts';
import { newestFailures, type Failure } from './recent-failures.ts';

export interface StatusFeedOptions {
  readonly capabilities: CapabilityService;
  readonly deadLetters: DeadLetterService;
  readonly openQueueBrowser: () => Promise<QueueBrowser>;
  readonly topology: Topology;
  readonly rexJobs: Pick<RexTaskStore, 'count' | 'list'>;
  readonly expectedFeatures: readonly SmartProxyFeature[];
  readonly logger: Logger;
  /** How often depths, failures and jobs are read while a page watches. @defaultValue 2000 */
  readonly refreshMs?: number;
}

export interface StatusFeed {
  /** The document as of now (read again when the last read is older than `refreshMs`). */
  current(): Promise<StatusDocument>;
  /** Every new document; reads run while at least one listener is subscribed. */
  subscribe(listener: (document: StatusDocument) => void): () => void;
  close(): void;
}

/** Longest one read of the broker or Redis may take before it is shown as not answering. */
const PROBE_DEADLINE_MS = 5000;
/** REX jobs listed as in flight; the counts cover every job. */
const JOBS_SHOWN = 25;

const bound: Bound = (work) => {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_DEADLINE_MS / 1000} s`)), PROBE_DEADLINE_MS);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
};

type Probed = Omit<StatusDocument, 'capabilities' | 'attention' | 'at' | 'prefix'>;

export function createStatusFeed(options: StatusFeedOptions): StatusFeed {
  const refreshMs = options.refreshMs ?? 2000;
  const listeners = new Set<(document: StatusDocument) => void>();
  const trend = createDepthTrend();
  const failures = newestFailures(options.deadLetters);
  let probed: { at: number; value: Probed } | undefined;
  let reading: Promise<Probed> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribers: Array<() => void> = [];

  async function readBroker(): Promise<Pick<Probed, 'broker' | 'queues' | 'failures'>> {
    let depths: QueueDepth[];
    try {
      depths = await readQueueDepths(options.openQueueBrowser, options.topology, bound);
    } catch (error) {
      const unknown = queueFeatures.map((feature) => ({ feature, work: null, deadLetters: null, workChange: null, deadLettersAdded: null, trendSeconds: null }));
      return { broker: { ok: false, error: errorMessage(error) }, queues: unknown, failures: [] };
    }
    const rates = trend.add(Date.now(), depths);
    const queues = depths.map((depth) => ({ ...depth, ...(rates.get(depth.feature) ?? { workChange: null, deadLettersAdded: null, trendSeconds: null }) }));
    let recent: Failure[] = [];
    try {
      recent = await failures.read(depths);
    } catch (error) {
      options.logger.warn({ err: errorMessage(error) }, 'status page: dead letters not read');
    }
    return { broker: { ok: true }, queues, failures: recent };
  }

  async function readRedis(): Promise<Pick<Probed, 'redis' | 'rex'>> {
    try {
      const [counts, running] = await bound(Promise.all([readRexJobCounts(options.rexJobs), options.rexJobs.list('running', JOBS_SHOWN)]));
      return { redis: { ok: true }, rex: { ...counts, inFlight: running.map(jobInFlight) } };
    } catch (error) {
      return { redis: { ok: false, error: errorMessage(error) }, rex: null };
    }
  }

  function read(): Promise<Probed> {
    reading ??= Promise.all([readBroker(), readRedis()])
      .then(([broker, redis]) => {
        const value = { ...broker, ...redis };
        probed = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  }

  function compose(value: Probed): StatusDocument {
    const capabilities = options.capabilities.snapshot();
    return {
      at: new Date().toISOString(),
      prefix: options.topology.prefix,
      capabilities,
      ...value,
      attention: attentionOf(options.expectedFeatures, { broker: value.broker, redis: value.redis, capabilities, queues: value.queues }),
    };
  }

  function emit(value: Probed): void {
    const document = compose(value);
    for (const listener of listeners) listener(document);
  }

  /** Reads, tells every listener, and schedules the next read while anyone listens. */
  function cycle(): void {
    timer = undefined;
    read()
      .then(emit)
      .catch((error: unknown) => options.logger.warn({ err: errorMessage(error) }, 'status page: read failed'))
      .finally(() => {
        if (listeners.size > 0 && timer === undefined) timer = setTimeout(cycle, refreshMs);
      });
  }

  function startWatching(): void {
    // A worker appearing must show at once, not at the next read.
    const pushCapabilities = (): void => {
      if (probed) emit(probed.value);
    };
    unsubscribers = [options.capabilities.subscribe(pushCapabilities), options.capabilities.subscribeInstances(pushCapabilities)];
    cycle();
  }

  function stopWatching(): void {
    for (const unsubscribe of unsubscribers) unsubscribe();
    unsubscribers = [];
    clearTimeout(timer);
    timer = undefined;
  }

  return {
    async current() {
      const value = probed && Date.now() - probed.at < refreshMs ? probed.value : await read();
      return compose(value);
    },
    subscribe(listener) {
      listeners.add(listener);
      if (listeners.size === 1) startWatching();
      else if (probed) listener(compose(probed.value));
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stopWatching();
      };
    },
    close() {
      listeners.clear();
      stopWatching();
    },
  };
}
