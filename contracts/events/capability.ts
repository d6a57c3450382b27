/**
 * Capability events on `<prefix>.capabilities` (topic; routing key = type), all kept for a bounded
 * time in the stream `<prefix>.capabilities.stream`:
 * - `capability.announced.v1`: a process says what it provides; repeated as its heartbeat;
 * - `capability.withdrawn.v1`: a process stops providing anything (graceful stop);
 * - `capability.changed.v1`: a feature went up, down, or changed settings or capabilities, as the
 *   control role's registry derives it from the two above (and from expiry);
 * - `capability.sync-requested.v1`: a reader's own marker; everything before it in the stream is
 *   history, so the reader knows when its replay is complete.
 */
import { z } from 'zod';
import { announcedFeatureNames, exposedSettingsSchema, featureAnnouncementSchema, featureStateSchema, MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS } from '../capabilities.ts';

const instanceId = z.string().min(1).max(200);

export const capabilityAnnouncedV1 = {
  type: 'capability.announced.v1',
  data: z.strictObject({
    instanceId,
    /** Process roles, as `proxyhub start --role` names them (`control`, `worker:facts`, …). */
    roles: z.array(z.string().min(1).max(100)).min(1).max(50),
    version: z.string().min(1).max(100),
    hostname: z.string().min(1).max(255),
    startedAt: z.iso.datetime({ offset: true }),
    /** Grows with every announcement of this instance; a reordered older one is ignored. */
    sequence: z.number().int().min(0),
    heartbeatMs: z.number().int().min(MIN_HEARTBEAT_MS).max(MAX_HEARTBEAT_MS),
    /** Listener URLs of this process (`ingress`, `control`), where it listens. */
    urls: z.partialRecord(z.enum(['ingress', 'control']), z.string().max(500)),
    features: z.array(featureAnnouncementSchema).max(50),
  }),
} as const;
export type CapabilityAnnouncement = z.infer<typeof capabilityAnnouncedV1.data>;

export const capabilityWithdrawnV1 = {
  type: 'capability.withdrawn.v1',
  data: z.strictObject({ instanceId, sequence: z.number().int().min(0), reason: z.enum(['stopped']) }),
} as const;
export type CapabilityWithdrawal = z.infer<typeof capabilityWithdrawnV1.data>;

/** A feature as the registry sees it across every live instance. */
export const featureViewSchema = z.strictObject({
  state: featureStateSchema,
  settings: exposedSettingsSchema,
  capabilities: z.array(z.string()),
  /** proxyhub version of the instance whose settings are shown. */
  version: z.string(),
  /** Live instances providing the feature, sorted. */
  instances: z.array(instanceId),
});
export type FeatureView = z.infer<typeof featureViewSchema>;

export const capabilityChangedV1 = {
  type: 'capability.changed.v1',
  data: z.strictObject({
    feature: z.enum(announcedFeatureNames),
    change: z.enum(['up', 'down', 'updated']),
    /** What caused it: an announcement, a withdrawal, or an instance that missed its heartbeats. */
    cause: z.enum(['announced', 'withdrawn', 'expired']),
    /** The feature now; null once no live instance provides it. */
    current: featureViewSchema.nullable(),
    previous: featureViewSchema.nullable(),
  }),
} as const;
export type CapabilityChange = z.infer<typeof capabilityChangedV1.data>;

export const capabilitySyncRequestedV1 = {
  type: 'capability.sync-requested.v1',
  data: z.strictObject({ readerId: z.string().min(1).max(200) }),
} as const;
