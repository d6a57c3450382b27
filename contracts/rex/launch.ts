/**
 * What Foreman sends to `POST /dynflow/tasks/launch` (foreman-contracts.md §2.3): one batch of
 * hosts keyed by Foreman's execution-plan uuids. Only the fields proxyhub acts on are checked;
 * the rest of `action_input` is kept as sent, so the status Foreman reads back echoes it.
 */
import { z } from 'zod';

/** Operations the launch route accepts (dynflow's task-launcher names). */
export const rexOperations = ['ssh'] as const;
export type RexOperation = (typeof rexOperations)[number];

export const effectiveUserMethods = ['sudo', 'dzdo', 'su'] as const;

/** Foreman sends numbers as numbers or as strings, depending on where they came from. */
const seconds = z.union([z.number(), z.string().regex(/^\d+(\.\d+)?$/).transform(Number)]);
const optionalText = z.string().nullish();

export const callbackSchema = z.object({
  task_id: z.union([z.string().min(1), z.number()]),
  step_id: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
});
export type RexCallback = z.infer<typeof callbackSchema>;

export const actionInputSchema = z.looseObject({
  hostname: z.string().min(1).max(255),
  script: z.string().max(16 * 1024 * 1024),
  callback: callbackSchema,
  ssh_user: optionalText,
  ssh_port: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]).nullish(),
  effective_user: optionalText,
  effective_user_method: z.enum(effectiveUserMethods).nullish(),
  secrets: z.looseObject({ ssh_password: optionalText, key_passphrase: optionalText, effective_user_password: optionalText }).nullish(),
  remote_working_dir: optionalText,
  cleanup_working_dirs: z.boolean().nullish(),
  execution_timeout_interval: seconds.nullish(),
  time_to_pickup: seconds.nullish(),
  first_execution: z.boolean().nullish(),
  alternative_names: z.looseObject({ fqdn: optionalText, consumer_uuid: optionalText }).nullish(),
  proxy_url: optionalText,
});
export type ActionInput = z.infer<typeof actionInputSchema>;

/** Execution-plan uuids are Dynflow uuids; they become BullMQ job ids, so no ':' may sneak in. */
export const planIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be an execution-plan uuid');

export const launchRequestSchema = z.object({
  operation: z.string().min(1),
  input: z.record(planIdSchema, z.looseObject({ action_class: z.string().optional(), action_input: actionInputSchema })).refine((input) => Object.keys(input).length > 0, 'input names no host'),
  options: z.record(z.string(), z.unknown()).optional(),
});
export type LaunchRequest = z.infer<typeof launchRequestSchema>;

export const taskIdsSchema = z.object({ task_ids: z.array(planIdSchema).max(10_000) });

/** Fields of `action_input` that must never be echoed back or logged. */
export const SECRET_FIELDS = ['secrets'] as const;

/** The name pull hosts are known by: what their certificate CN says (§2.4). */
export function pullHostName(input: ActionInput): string {
  return input.alternative_names?.consumer_uuid || input.alternative_names?.fqdn || input.hostname;
}
