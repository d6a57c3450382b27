/**
 * `GET /capabilities` on the control listener, and the events of `GET /capabilities/events`
 * (Server-Sent Events): `snapshot` carries this whole document, `changed` one
 * `capability.changed.v1` data object.
 */
import { z } from 'zod';
import { announcedFeatureNames, featureAnnouncementSchema } from '../capabilities.ts';
import { capabilityAnnouncedV1, featureViewSchema } from '../events/capability.ts';

export const instanceSnapshotSchema = z.strictObject({
  ...capabilityAnnouncedV1.data.shape,
  features: z.array(featureAnnouncementSchema),
  lastSeen: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});

export const capabilitySnapshotSchema = z.strictObject({
  features: z.partialRecord(z.enum(announcedFeatureNames), featureViewSchema),
  instances: z.array(instanceSnapshotSchema),
  /** The SSE id of the last change included; resume `/capabilities/events` from it. */
  lastEventId: z.string(),
});
export type CapabilitySnapshot = z.infer<typeof capabilitySnapshotSchema>;

export const SSE_SNAPSHOT_EVENT = 'snapshot';
export const SSE_CHANGED_EVENT = 'changed';
