/**
 * Request/reply between the ingress and the rex worker for the host-facing REX routes: the pull
 * endpoints (`/ssh/jobs…`, each scoped to the certificate CN) and the public keys. The ingress
 * only forwards what the host sent; the worker decides everything against the job in Redis.
 */
import { z } from 'zod';
import { errorCatalog, type ErrorCode } from '../errors.ts';

export const hostRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('list'), cn: z.string().min(1) }),
  z.object({ kind: z.literal('fetch'), cn: z.string().min(1), uuid: z.string().min(1).max(100) }),
  z.object({ kind: z.literal('update'), cn: z.string().min(1), uuid: z.string().min(1).max(100), body: z.unknown() }),
  z.object({ kind: z.literal('cancel'), cn: z.string().min(1), uuid: z.string().min(1).max(100) }),
  z.object({ kind: z.literal('pubkey') }),
  z.object({ kind: z.literal('ca-pubkey') }),
]);
export type HostRequest = z.infer<typeof hostRequestSchema>;

/** A refusal's catalog code, and the request part and field it is about; the ingress answers it as problem+json. */
const hostProblemSchema = z.object({
  code: z.enum(Object.keys(errorCatalog) as [ErrorCode, ...ErrorCode[]]),
  location: z.enum(['body', 'params']).optional(),
  field: z.string().optional(),
});

export const hostReplySchema = z.object({
  status: z.number().int(),
  contentType: z.string(),
  /** The answer's body; for a refusal, the detail. */
  body: z.string(),
  effectiveUser: z.string().optional(),
  problem: hostProblemSchema.optional(),
});
export type HostReply = z.infer<typeof hostReplySchema>;

export const HOST_REQUEST_TYPE = 'rex.host.request.v1';
export const HOST_REPLY_TYPE = 'rex.host.reply.v1';

/** foreman_ygg_worker's update body (`version: "1"`). */
export const v1UpdateSchema = z.object({
  version: z.literal('1'),
  updates: z.array(
    z.discriminatedUnion('type', [
      z.object({ type: z.literal('output'), timestamp: z.string().optional(), stream: z.enum(['stdout', 'stderr']).default('stdout'), content: z.string() }),
      z.object({ type: z.literal('exit'), timestamp: z.string().optional(), exit_code: z.number().int() }),
    ]),
  ).max(10_000),
});

/** The unversioned body older pull clients send. */
export const legacyUpdateSchema = z.object({
  output: z.union([z.string(), z.array(z.string())]).optional(),
  type: z.enum(['stdout', 'stderr']).optional(),
  exit_code: z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]).optional(),
});
