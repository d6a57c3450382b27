/**
 * A subscription-manager upload the ingress accepted with 202 (rhsm-contract §6): a package
 * profile, a tracer or enabled-repositories report, or a facts-only consumer update. The worker
 * builds Katello's path from `kind` and `consumerUuid` itself, so an event cannot steer it to any
 * other route; it sends `body` byte for byte.
 */
import { z } from 'zod';
import { rhsmClientSchema } from '../rhsm/rhsm-rpc.ts';
import { consumerUuidSchema, rhsmUploadKinds } from '../rhsm/rhsm-routes.ts';

export const rhsmUploadSchema = z.strictObject({
  kind: z.enum(rhsmUploadKinds),
  consumerUuid: consumerUuidSchema,
  /** Query parameters as sent (Katello reads none on these routes today; kept for fidelity). */
  query: z.array(z.tuple([z.string().max(4096), z.string().max(65_536)])).max(100),
  /** Client headers that may reach Katello (contracts/rhsm/rhsm-rpc.ts, `rhsmForwardedHeaders`). */
  headers: z.record(z.string(), z.string().max(16_384)),
  /** The JSON text the host sent, checked at the ingress to be JSON of the route's shape. */
  body: z.string(),
  client: rhsmClientSchema,
});
export type RhsmUpload = z.infer<typeof rhsmUploadSchema>;

export const rhsmUploadAcceptedV1 = {
  type: 'rhsm.upload.accepted.v1',
  data: rhsmUploadSchema,
} as const;
