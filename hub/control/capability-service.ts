/**
 * The control role's view of the capability stream. On start it replays the stream from one
 * expiry window back up to a marker it writes itself, so it serves the current state at once
 * (no waiting for heartbeats); then it follows the stream, expires silent instances (only while
 * the stream is shown to deliver: a hung subscription is renewed, not taken for every worker's
 * death), keeps a bounded log of changes for SSE resumption and (in the control role) publishes
 * each change as `capability.changed.v1`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { MAX_HEARTBEAT_MS, MISSED_HEARTBEATS, type AnnouncedFeatureName } from '../../contracts/capabilities.ts';
import { createEvent } from '../../contracts/events/create-event.ts';
import type { CapabilityChange, FeatureView } from '../../contracts/events/capability.ts';
import type { CapabilitySnapshot } from '../../contracts/http/capabilities.ts';
import { decodeEvent, encodeEvent } from '../bus/event-codec.ts';
import type { Logger } from '../log/logger.ts';
import type { Publisher, StreamReader, StreamReaderFactory } from '../bus/transport.ts';
import { errorMessage } from '../../contracts/errors.ts';
import { createCapabilityMarkers } from './capability-markers.ts';
import { CapabilityRegistry, type InstanceRecord, type RegistryChange } from './capability-registry.ts';

export interface CapabilityServiceOptions {
  readonly openStream: StreamReaderFactory;
  readonly publisher: Publisher;
  readonly exchange: string;
  /** Identifies this reader's sync marker. */
  readonly readerId: string;
  readonly logger: Logger;
  /** The control role publishes changes; a read-only reader (the CLI) does not. */
  readonly publishChanges: boolean;
  /** How long start() waits for its marker before serving what it has. @defaultValue 10000 */
  readonly syncTimeoutMs?: number;
  /**
   * How long a marker written to prove the stream still flows may take to come back before the
   * subscription is taken for hung and renewed. @defaultValue 5000
   */
  readonly probeTimeoutMs?: number;
}

export interface ChangeRecord {
  readonly seq: number;
  /** The `capability.changed.v1` event id: the same on every replica for the same change. */
  readonly eventId: string;
  readonly change: CapabilityChange;
}

export interface CapabilityService {
  /** Resolves once the replay reached this reader's marker: the state is current. */
  start(): Promise<void>;
  features(): ReadonlyMap<AnnouncedFeatureName, FeatureView>;
  snapshot(): CapabilitySnapshot;
  /** SSE id of a change (or of the state after it). */
  eventIdOf(seq: number): string;
  lastSeq(): number;
  /** Changes after an SSE id, or undefined when that id is not from this process or too old. */
  changesAfter(lastEventId: string): ChangeRecord[] | undefined;
  subscribe(listener: (record: ChangeRecord) => void): () => void;
  /** Live instances, sorted by id. */
  instances(): InstanceRecord[];
  /** Called whenever an instance appears or goes (after the replay). */
  subscribeInstances(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Longest any instance can stay live without a heartbeat, plus slack for chunk granularity. */
export const REPLAY_WINDOW_MS = MAX_HEARTBEAT_MS * MISSED_HEARTBEATS + 2000;
/** How often silent instances are looked for: bounds how late an expiry is noticed. */
export const SWEEP_INTERVAL_MS = 200;
/** Changes kept for `Last-Event-ID` resumption. */
const CHANGE_LOG_SIZE = 1000;
/** An entry read this recently shows the subscription delivers: silent instances may be expired. */
const FLOWING_PROOF_MS = 1000;

/** The same change gets the same id on every replica, so subscribers can drop duplicates. */
function changeEventId(change: RegistryChange): string {
  const hex = createHash('sha256').update(`${change.change.feature}|${change.change.change}|${change.cause.kind}|${change.cause.key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function createCapabilityService(options: CapabilityServiceOptions): CapabilityService {
  const registry = new CapabilityRegistry();
  const log = options.logger;
  // SSE ids are `<epoch>.<seq>`: an id from an earlier process (or another replica) is recognised as foreign.
  const epoch = randomUUID().slice(0, 8);
  const changeLog: ChangeRecord[] = [];
  const listeners = new Set<(record: ChangeRecord) => void>();
  const instanceListeners = new Set<() => void>();
  let instanceKey = '';
  let seq = 0;
  let synced = false;
  const markers = createCapabilityMarkers({ publisher: options.publisher, exchange: options.exchange, readerId: options.readerId });
  /** When the last entry of any kind was read: the subscription's proof of life. */
  let lastEntryAt = Date.now();
  /** Times the reader was seen down: a probe that spans one proves nothing about the subscription. */
  let interruptions = 0;
  let probing = false;
  /** A marker could not be published: said once until one is. */
  let markerUnpublished = false;
  let reader: StreamReader | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  function emit(changes: readonly RegistryChange[]): void {
    if (!synced) return;
    const key = registry.instances().map((record) => record.announcement.instanceId).join('\n');
    if (key !== instanceKey) {
      instanceKey = key;
      for (const listener of instanceListeners) listener();
    }
    for (const change of changes) {
      seq += 1;
      const record: ChangeRecord = { seq, eventId: changeEventId(change), change: change.change };
      changeLog.push(record);
      if (changeLog.length > CHANGE_LOG_SIZE) changeLog.shift();
      if (options.publishChanges) publishChange(record);
      for (const listener of listeners) listener(record);
    }
  }

  function publishChange(record: ChangeRecord): void {
    const envelope = createEvent('capability.changed.v1', record.change, { source: 'proxyhub/control', id: record.eventId, subject: record.change.feature });
    options.publisher.publish(encodeEvent(envelope, options.exchange, { mandatory: false })).catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'capability.changed.v1 not published'));
  }

  function onEntry(body: Buffer): void {
    lastEntryAt = Date.now();
    let event;
    try {
      event = decodeEvent({ body });
    } catch (error) {
      log.warn({ err: errorMessage(error) }, 'ignoring an unreadable capability event');
      return;
    }
    // Replayed history is judged by when it happened; live events by when they arrive, so a
    // worker whose clock is off cannot expire itself or live forever.
    const seenAt = synced ? Date.now() : Date.parse(event.time);
    switch (event.type) {
      case 'capability.announced.v1':
        return emit(registry.announce(event.data, seenAt, event.id));
      case 'capability.withdrawn.v1':
        return emit(registry.withdraw(event.data.instanceId, event.data.sequence, seenAt, event.id));
      case 'capability.sync-requested.v1':
        if (event.data.readerId === options.readerId) markers.seen(event.id);
        return;
      default:
        return;
    }
  }

  /**
   * Instances are due to expire, but nothing was read for a while: before taking their silence
   * for death, write a marker and wait for it. A marker the broker took that never comes back,
   * while nothing else came either and the subscription stayed up, means the subscription hung,
   * not that everyone died: it is renewed, and nobody expires for the gap. Until the marker is
   * back (or can be written) nobody expires either.
   */
  async function proveFlowing(): Promise<void> {
    const timeoutMs = options.probeTimeoutMs ?? 5000;
    const [startedAt, interruptionsBefore] = [Date.now(), interruptions];
    const { published, back } = markers.roundTrip(timeoutMs);
    try {
      await published;
    } catch (error) {
      if (!markerUnpublished) log.warn({ err: errorMessage(error) }, 'capability stream marker not published; silent instances are kept until one is');
      markerUnpublished = true;
      await new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
      return;
    }
    markerUnpublished = false;
    if (await back) return;
    if (lastEntryAt > startedAt || interruptions !== interruptionsBefore || reader?.state !== 'ready') return;
    log.warn({ waitedMs: timeoutMs }, "the capability stream returned nothing, not even this reader's own marker: renewing the subscription instead of expiring instances for a silence it cannot hear");
    reader.resubscribe();
  }

  return {
    async start() {
      reader = options.openStream({ from: new Date(Date.now() - REPLAY_WINDOW_MS), onEntry: (entry) => onEntry(entry.body) });
      await reader.start();
      const marker = markers.roundTrip(options.syncTimeoutMs ?? 10_000);
      await marker.published.catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'sync marker not published'));
      if (!(await marker.back)) log.warn('capability replay did not reach its marker in time; serving what was read');
      registry.expire(Date.now());
      synced = true;
      instanceKey = registry.instances().map((record) => record.announcement.instanceId).join('\n');
      let blind = false;
      sweeper = setInterval(() => {
        // Cut off from the broker, or the broker blocking every publisher (memory or disk alarm:
        // heartbeats cannot be sent), silence proves nothing: expire nobody for the gap, and give
        // everyone a fresh window once heartbeats can flow again.
        if (reader?.state !== 'ready' || options.publisher.state === 'blocked') {
          if (!blind) interruptions += 1;
          blind = true;
          return;
        }
        if (blind) {
          blind = false;
          registry.extendAll(Date.now());
        }
        const now = Date.now();
        if (!registry.hasExpired(now)) return;
        if (now - lastEntryAt <= FLOWING_PROOF_MS) {
          emit(registry.expire(now));
          return;
        }
        if (probing) return;
        probing = true;
        void proveFlowing().finally(() => {
          probing = false;
        });
      }, SWEEP_INTERVAL_MS);
      sweeper.unref();
    },
    features: () => registry.features(),
    snapshot() {
      return {
        features: Object.fromEntries(registry.features()),
        instances: registry.instances().map((record) => ({
          ...record.announcement,
          lastSeen: new Date(record.lastSeen).toISOString(),
          expiresAt: new Date(record.expiresAt).toISOString(),
        })),
        lastEventId: `${epoch}.${seq}`,
      };
    },
    eventIdOf: (n) => `${epoch}.${n}`,
    lastSeq: () => seq,
    changesAfter(lastEventId) {
      const [idEpoch, idSeq] = lastEventId.split('.');
      const after = Number(idSeq);
      if (idEpoch !== epoch || !Number.isInteger(after) || after > seq) return undefined;
      const oldest = changeLog[0]?.seq ?? seq + 1;
      if (after < oldest - 1) return undefined;
      return changeLog.filter((record) => record.seq > after);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    instances: () => registry.instances(),
    subscribeInstances(listener) {
      instanceListeners.add(listener);
      return () => instanceListeners.delete(listener);
    },
    async close() {
      clearInterval(sweeper);
      markers.clear();
      listeners.clear();
      instanceListeners.clear();
      await reader?.close();
    },
  };
}
