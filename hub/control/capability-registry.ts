/**
 * The live capability registry, rebuilt from announcements alone: which instance provides which
 * feature, and the feature view derived from every live instance. Deterministic (no clocks of its
 * own, no arrival order beyond the stream's), so control replicas reading the same stream agree.
 */
import { MISSED_HEARTBEATS, announcedFeatureNames, type AnnouncedFeatureName, type FeatureAnnouncement, type FeatureState } from '../../contracts/capabilities.ts';
import type { CapabilityAnnouncement, CapabilityChange, FeatureView } from '../../contracts/events/capability.ts';

export interface InstanceRecord {
  readonly announcement: CapabilityAnnouncement;
  /** When the last heartbeat was seen (epoch ms). */
  readonly lastSeen: number;
  readonly expiresAt: number;
}

/** What a change was caused by: the registry's input, carried into `capability.changed.v1`. */
export interface ChangeCause {
  readonly kind: CapabilityChange['cause'];
  /** Identifies the cause for every replica alike (the event id, or the expired announcement). */
  readonly key: string;
}

export interface RegistryChange {
  readonly change: CapabilityChange;
  readonly cause: ChangeCause;
}

/** A withdrawn instance's last sequence is remembered this long, so a late heartbeat cannot revive it. */
const TOMBSTONE_MS = 60_000;
/** The better state wins when instances disagree: one running instance makes the feature run. */
const STATE_RANK: Readonly<Record<FeatureState, number>> = { running: 4, starting: 3, failed: 2, disabled: 1, uninitialized: 0 };

export function expiryOf(announcement: CapabilityAnnouncement, seenAt: number): number {
  return seenAt + announcement.heartbeatMs * MISSED_HEARTBEATS;
}

function sameView(a: FeatureView, b: FeatureView): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class CapabilityRegistry {
  readonly #instances = new Map<string, InstanceRecord>();
  readonly #tombstones = new Map<string, { sequence: number; until: number }>();
  #views = new Map<AnnouncedFeatureName, FeatureView>();

  /** An announcement seen at `seenAt`; returns the feature changes it caused. */
  announce(announcement: CapabilityAnnouncement, seenAt: number, causeKey: string): RegistryChange[] {
    const known = this.#instances.get(announcement.instanceId);
    const tombstone = this.#tombstones.get(announcement.instanceId);
    if (known && known.announcement.sequence >= announcement.sequence) return [];
    if (tombstone && tombstone.sequence >= announcement.sequence) return [];
    this.#instances.set(announcement.instanceId, { announcement, lastSeen: seenAt, expiresAt: expiryOf(announcement, seenAt) });
    return this.#recompute({ kind: 'announced', key: causeKey });
  }

  withdraw(instanceId: string, sequence: number, seenAt: number, causeKey: string): RegistryChange[] {
    this.#tombstones.set(instanceId, { sequence, until: seenAt + TOMBSTONE_MS });
    const known = this.#instances.get(instanceId);
    if (!known || known.announcement.sequence > sequence) return [];
    this.#instances.delete(instanceId);
    return this.#recompute({ kind: 'withdrawn', key: causeKey });
  }

  /** Whether `expire(now)` would drop anyone. */
  hasExpired(now: number): boolean {
    for (const record of this.#instances.values()) if (record.expiresAt <= now) return true;
    return false;
  }

  /** Drops every instance whose heartbeats stopped before `now`. */
  expire(now: number): RegistryChange[] {
    for (const [id, tombstone] of this.#tombstones) if (tombstone.until <= now) this.#tombstones.delete(id);
    const changes: RegistryChange[] = [];
    for (const [id, record] of [...this.#instances].sort(([a], [b]) => a.localeCompare(b))) {
      if (record.expiresAt > now) continue;
      this.#instances.delete(id);
      changes.push(...this.#recompute({ kind: 'expired', key: `${id}#${record.announcement.sequence}` }));
    }
    return changes;
  }

  /**
   * After a time in which no heartbeat could have been heard (the reader was cut off from the
   * broker), every instance gets a full expiry window again instead of being expired for the gap.
   */
  extendAll(now: number): void {
    for (const [id, record] of this.#instances) {
      this.#instances.set(id, { ...record, expiresAt: Math.max(record.expiresAt, expiryOf(record.announcement, now)) });
    }
  }

  instances(): InstanceRecord[] {
    return [...this.#instances.values()].sort((a, b) => a.announcement.instanceId.localeCompare(b.announcement.instanceId));
  }

  features(): ReadonlyMap<AnnouncedFeatureName, FeatureView> {
    return this.#views;
  }

  #recompute(cause: ChangeCause): RegistryChange[] {
    const next = buildViews(this.instances());
    const changes: RegistryChange[] = [];
    for (const feature of announcedFeatureNames) {
      const previous = this.#views.get(feature) ?? null;
      const current = next.get(feature) ?? null;
      if (previous === null && current === null) continue;
      if (previous !== null && current !== null && sameView(previous, current)) continue;
      const wasRunning = previous?.state === 'running';
      const isRunning = current?.state === 'running';
      const change = isRunning && !wasRunning ? 'up' : wasRunning && !isRunning ? 'down' : 'updated';
      changes.push({ change: { feature, change, cause: cause.kind, current, previous }, cause });
    }
    this.#views = next;
    return changes;
  }
}

/** One feature across its instances: the best state; settings of the newest instance in that state. */
function buildViews(instances: readonly InstanceRecord[]): Map<AnnouncedFeatureName, FeatureView> {
  const providers = new Map<AnnouncedFeatureName, Array<{ record: InstanceRecord; feature: FeatureAnnouncement }>>();
  for (const record of instances) {
    for (const feature of record.announcement.features) {
      const list = providers.get(feature.name) ?? [];
      list.push({ record, feature });
      providers.set(feature.name, list);
    }
  }
  const views = new Map<AnnouncedFeatureName, FeatureView>();
  for (const name of announcedFeatureNames) {
    const list = providers.get(name);
    if (!list) continue;
    const best = Math.max(...list.map((p) => STATE_RANK[p.feature.state]));
    const leaders = list
      .filter((p) => STATE_RANK[p.feature.state] === best)
      .sort((a, b) => b.record.announcement.startedAt.localeCompare(a.record.announcement.startedAt) || b.record.announcement.instanceId.localeCompare(a.record.announcement.instanceId));
    const leader = leaders[0];
    if (!leader) continue;
    views.set(name, {
      state: leader.feature.state,
      settings: { ...leader.feature.settings },
      capabilities: [...new Set(leaders.flatMap((p) => p.feature.capabilities))].sort(),
      version: leader.record.announcement.version,
      instances: list.map((p) => p.record.announcement.instanceId).sort(),
    });
  }
  return views;
}
