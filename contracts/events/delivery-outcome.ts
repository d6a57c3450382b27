import { z } from 'zod';
import { errorCatalog } from '../errors.ts';

const errorCodeSchema = z.enum(Object.keys(errorCatalog) as [keyof typeof errorCatalog, ...(keyof typeof errorCatalog)[]]);

/** What happened to one event at a worker: informational, published without `mandatory`. */
export const deliveryOutcomeSchema = z.object({
  eventId: z.string(),
  eventType: z.string(),
  feature: z.string(),
  attempt: z.number().int().min(1),
  outcome: z.enum(['delivered', 'duplicate', 'retry-scheduled', 'dead-lettered']),
  status: z.number().int().optional(),
  code: errorCodeSchema.optional(),
  reason: z.string().max(2000).optional(),
  retryInMs: z.number().int().optional(),
});

export type DeliveryOutcome = z.infer<typeof deliveryOutcomeSchema>;

export const deliverySucceededV1 = { type: 'delivery.succeeded.v1', data: deliveryOutcomeSchema } as const;
export const deliveryRetriedV1 = { type: 'delivery.retried.v1', data: deliveryOutcomeSchema } as const;
export const deliveryDeadLetteredV1 = { type: 'delivery.dead-lettered.v1', data: deliveryOutcomeSchema } as const;
