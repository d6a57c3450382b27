/**
 * What the REX queues hold, checked against the contracts when it is written and when it is read
 * back: Redis is shared state another version of proxyhub (or an operator) may have written, and
 * a job whose data does not fit must fail by name rather than deep inside a worker.
 */
import { z } from 'zod';
import { ProxyhubError } from '../../contracts/errors.ts';
import { callbackJobSchema, rexJobDataSchema, rexResultSchema, type CallbackJob, type RexJobData, type RexResult } from '../../contracts/rex/job.ts';

/** Where BullMQ has a job; `unknown` for an id it does not hold. (BullMQ's own JobState, named here.) */
export const storedJobStates = ['waiting', 'waiting-children', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'unknown'] as const;
export type StoredJobState = (typeof storedJobStates)[number];

export function storedJobState(state: string): StoredJobState {
  return (storedJobStates as readonly string[]).includes(state) ? (state as StoredJobState) : 'unknown';
}

export const batchDataSchema = z.object({ batchId: z.string(), planIds: z.array(z.string()), launchedAt: z.number() });
export type BatchData = z.infer<typeof batchDataSchema>;

export const callbackDataSchema = callbackJobSchema.extend({ result: rexResultSchema });
export type CallbackData = CallbackJob & { result: RexResult };

function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = ['data', ...(issue?.path ?? [])].join('.');
  throw new ProxyhubError('PROXYHUB_EVENT_INVALID', `${what}: ${field}: ${issue?.message}`, { field });
}

export const rexJobDataOf = (job: { readonly id?: string | undefined; readonly data: unknown }): RexJobData => checked(rexJobDataSchema, job.data, `rex job ${job.id}`);
export const batchDataOf = (job: { readonly id?: string | undefined; readonly data: unknown }): BatchData => checked(batchDataSchema, job.data, `rex batch ${job.id}`);
export const callbackDataOf = (job: { readonly id?: string | undefined; readonly data: unknown }): CallbackData => checked(callbackDataSchema, job.data, `rex callback ${job.id}`);
