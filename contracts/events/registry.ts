/**
 * The registry of event types: type name → data schema. Producers and consumers both look
 * schemas up here, and the mapped handler types below make a missing handler a compile error.
 */
import type { z } from 'zod';
import { factsUploadedV1 } from './facts-uploaded.ts';
import { reportUploadedV1 } from './report-uploaded.ts';
import { arfUploadedV1 } from './arf-uploaded.ts';
import { rexJobFinishedV1, rexJobOutputV1 } from './rex-job.ts';
import { rhsmUploadAcceptedV1 } from './rhsm-upload.ts';
import { deliveryDeadLetteredV1, deliveryRetriedV1, deliverySucceededV1 } from './delivery-outcome.ts';
import { capabilityAnnouncedV1, capabilityChangedV1, capabilitySyncRequestedV1, capabilityWithdrawnV1 } from './capability.ts';

export const eventRegistry = {
  [factsUploadedV1.type]: factsUploadedV1.data,
  [reportUploadedV1.type]: reportUploadedV1.data,
  [arfUploadedV1.type]: arfUploadedV1.data,
  [rhsmUploadAcceptedV1.type]: rhsmUploadAcceptedV1.data,
  [deliverySucceededV1.type]: deliverySucceededV1.data,
  [deliveryRetriedV1.type]: deliveryRetriedV1.data,
  [deliveryDeadLetteredV1.type]: deliveryDeadLetteredV1.data,
  [capabilityAnnouncedV1.type]: capabilityAnnouncedV1.data,
  [capabilityWithdrawnV1.type]: capabilityWithdrawnV1.data,
  [capabilityChangedV1.type]: capabilityChangedV1.data,
  [capabilitySyncRequestedV1.type]: capabilitySyncRequestedV1.data,
  [rexJobOutputV1.type]: rexJobOutputV1.data,
  [rexJobFinishedV1.type]: rexJobFinishedV1.data,
} as const;

export type EventType = keyof typeof eventRegistry;
export type EventData<T extends EventType> = z.infer<(typeof eventRegistry)[T]>;

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventRegistry, type);
}
