import { z } from 'zod';
import { exitStatusSchema, outputChunkSchema } from '../rex/job.ts';

/**
 * Live REX output: each chunk as the host produced it, so a subscriber can stream a job's output
 * while it runs. Informational: published without waiting, dropped when nobody listens.
 */
export const rexJobOutputV1 = {
  type: 'rex.job.output.v1',
  data: z.object({ planId: z.string(), batchId: z.string(), hostname: z.string(), chunk: outputChunkSchema }),
} as const;

/** A REX job ended: its exit status (a number, or EXCEPTION with the reason). */
export const rexJobFinishedV1 = {
  type: 'rex.job.finished.v1',
  data: z.object({
    planId: z.string(),
    batchId: z.string(),
    hostname: z.string(),
    exitStatus: exitStatusSchema,
    exitStatusTimestamp: z.number(),
    reason: z.string().optional(),
  }),
} as const;
