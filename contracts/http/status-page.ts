/**
 * The status page's data (`GET /status/state`, and each `status` event of `GET /status/events`):
 * what the control process sees of the hub now. The page renders it; scripts may read it too.
 */
import { z } from 'zod';
import { queueFeatures } from '../topology.ts';
import { capabilitySnapshotSchema } from './capabilities.ts';

const probeSchema = z.object({ ok: z.boolean(), error: z.string().optional() });

export const queueStatusSchema = z.object({
  feature: z.enum(queueFeatures),
  /** null: not declared yet (no process of the feature has started), or the broker does not answer. */
  work: z.number().int().nullable(),
  deadLetters: z.number().int().nullable(),
  /**
   * How the queues moved over the last `trendSeconds` (a minute, or less while the page has not
   * watched that long): the change of the work queue's depth (positive: the backlog grows) and
   * the dead letters added. The control role sees depths only; the workers' metrics count each
   * delivery. All three are null until two reads are a few seconds apart.
   */
  workChange: z.number().int().nullable(),
  deadLettersAdded: z.number().int().nullable(),
  trendSeconds: z.number().int().nullable(),
});
export type QueueStatus = z.infer<typeof queueStatusSchema>;

export const failureSchema = z.object({
  id: z.string(),
  feature: z.enum(queueFeatures),
  type: z.string(),
  code: z.string(),
  reason: z.string(),
  attempts: z.number().int(),
  failedAt: z.string(),
  upstreamStatus: z.number().int().optional(),
});

/** A REX host job without what Foreman sent to run it: no script, no secrets, no other input. */
export const jobInFlightSchema = z.object({
  planId: z.string(),
  host: z.string(),
  state: z.string(),
  step: z.string(),
  launchedAt: z.string(),
  foremanTask: z.string(),
});
export type JobInFlight = z.infer<typeof jobInFlightSchema>;

export const statusDocumentSchema = z.object({
  at: z.iso.datetime(),
  prefix: z.string(),
  broker: probeSchema,
  redis: probeSchema,
  capabilities: capabilitySnapshotSchema,
  queues: z.array(queueStatusSchema),
  /** The newest dead letters, newest first, with the reason each failed. */
  failures: z.array(failureSchema),
  rex: z.object({ running: z.number().int(), stopped: z.number().int(), inFlight: z.array(jobInFlightSchema) }).nullable(),
  attention: z.array(z.string()),
});
export type StatusDocument = z.infer<typeof statusDocumentSchema>;

/** The SSE event name of `GET /status/events`: every event carries a whole document. */
export const STATUS_SSE_EVENT = 'status';
