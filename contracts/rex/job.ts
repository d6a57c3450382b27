/**
 * A REX job as it lives in BullMQ: the job data (what Foreman asked for), its progress (where it
 * is), its output chunks (job logs, one JSON chunk per line) and its result (how it ended). The
 * control role reads these back to answer Foreman; the rex worker writes them.
 */
import { z } from 'zod';
import { actionInputSchema } from './launch.ts';

export const rexModes = ['ssh', 'pull-mqtt'] as const;
export type RexMode = (typeof rexModes)[number];

export const rexJobDataSchema = z.object({
  /** Foreman's execution-plan uuid: also the BullMQ job id. */
  planId: z.string(),
  /** The batch (flow parent) this host belongs to: Foreman's `parent.task_id`. */
  batchId: z.string(),
  actionClass: z.string(),
  input: actionInputSchema,
  /** Epoch ms the launch was accepted. */
  launchedAt: z.number(),
});
export type RexJobData = z.infer<typeof rexJobDataSchema>;

/**
 * Where a job is. `ready_for_pickup` → `notified` → `delivered` → `running` are the pull-mode
 * states of §2.4; ssh jobs go straight to `running`.
 */
export const rexJobStates = ['queued', 'ready_for_pickup', 'notified', 'delivered', 'running', 'finished'] as const;
export type RexJobState = (typeof rexJobStates)[number];

export const exitStatusSchema = z.union([z.number().int(), z.literal('EXCEPTION')]);
export type ExitStatus = z.infer<typeof exitStatusSchema>;

export const rexProgressSchema = z.object({
  state: z.enum(rexJobStates),
  startedAt: z.number().optional(),
  /** Pull mode: last MQTT notification, and how many were sent. */
  notifiedAt: z.number().optional(),
  notifications: z.number().int().optional(),
  /** Pull mode: the host reported its exit; the processor finishes the job on its next turn. */
  exit: z.object({ status: exitStatusSchema, at: z.number(), reason: z.string().optional() }).optional(),
});
export type RexProgress = z.infer<typeof rexProgressSchema>;

export const outputTypes = ['stdout', 'stderr', 'debug'] as const;

/** One output chunk, exactly as Foreman's callback and status want it (timestamp: float epoch s). */
export const outputChunkSchema = z.object({
  output_type: z.enum(outputTypes),
  output: z.string(),
  timestamp: z.number(),
});
export type OutputChunk = z.infer<typeof outputChunkSchema>;

/** The job's return value. */
export const rexResultSchema = z.object({
  exit_status: exitStatusSchema,
  exit_status_timestamp: z.number(),
  /** Why it ended without an exit code (EXCEPTION), for people reading the status. */
  reason: z.string().optional(),
});
export type RexResult = z.infer<typeof rexResultSchema>;

/** `data` of Foreman's `POST /foreman_tasks/api/tasks/callback`. */
export interface CallbackData {
  readonly result: readonly OutputChunk[];
  readonly exit_status: ExitStatus;
  readonly exit_status_timestamp: number;
}

export const callbackJobSchema = z.object({
  planId: z.string(),
  callback: z.object({ task_id: z.union([z.string(), z.number()]), step_id: z.number() }),
});
export type CallbackJob = z.infer<typeof callbackJobSchema>;

/** Epoch ms → the float epoch seconds Foreman's events carry. */
export const epochSeconds = (ms: number): number => ms / 1000;
